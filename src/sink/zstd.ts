/**
 * @file ZSTD compression of a Parquet page (`output.parquet.compression: zstd`): Polars' default
 * codec, and Iceberg's default since 1.4. Node 20's zlib has no
 * ZSTD, so the reference library compiled to WebAssembly does it (@bokuweb/zstd-wasm): loaded
 * only by a thread that writes ZSTD, once, before its first page, since loading is asynchronous
 * and a page is compressed synchronously.
 */

import { BentoError } from '../errors.js';

/** zstd's own default level (DuckDB's too). */
const defaultLevel = 3;

type Compress = (bytes: Uint8Array, level: number) => Uint8Array;

let compress: Compress | undefined;
let loading: Promise<void> | undefined;
let failure: BentoError | undefined;

/** Loads the compressor on this thread (once; later calls share the first). */
export function loadZstd(): Promise<void> {
  loading ??= (async () => {
    try {
      const zstd = (await import('@bokuweb/zstd-wasm')).default;
      await zstd.init();
      compress = zstd.compress;
    } catch (error) {
      failure = new BentoError('OUTPUT_WRITE', `The ZSTD compressor could not be loaded: ${(error as Error).message}`, {
        hint: 'Reinstall bento-batch (npm ci), or set output.parquet.compression to snappy or gzip.',
      });
      throw failure;
    }
  })();
  return loading;
}

/** A page's bytes as one ZSTD frame. */
export function zstdCompress(bytes: Uint8Array, level = defaultLevel): Uint8Array {
  if (failure) throw failure;
  // A bug guard: every path that encodes ZSTD pages awaits loadZstd first.
  if (!compress) throw new Error('ZSTD compression used before loadZstd');
  return compress(bytes, level);
}
