#!/bin/bash
# Follow-up: parquet-wasm-stream RSS growth at 6M rows; minimum V8 heap needed by hyparquet-writer.
cd "$(dirname "$0")"
r=$( { ROWS=6000000 /usr/bin/time -f "RSS_KB=%M" node write.mjs parquet-wasm-stream ZSTD out/scale.parquet; } 2>&1 ); echo "rows=6000000 parquet-wasm-stream ZSTD $(echo "$r" | grep -o '"ms":[0-9]*') $(echo "$r" | grep -o 'RSS_KB=[0-9]*')"
r=$( { ROWS=6000000 /usr/bin/time -f "RSS_KB=%M" node write.mjs hyparquet-writer SNAPPY out/scale.parquet; } 2>&1 ); echo "rows=6000000 hyparquet-writer SNAPPY $(echo "$r" | grep -o '"ms":[0-9]*') $(echo "$r" | grep -o 'RSS_KB=[0-9]*')"
for h in 160 256; do
r=$( { ROWS=3000000 /usr/bin/time -f "RSS_KB=%M" node --max-old-space-size=$h write.mjs hyparquet-writer SNAPPY out/scale.parquet; } 2>&1 ); echo "capped-heap-${h}MB rows=3000000 hyparquet-writer $(echo "$r" | grep -o '"ms":[0-9]*') $(echo "$r" | grep -o 'RSS_KB=[0-9]*') $(echo "$r" | grep -o '"ok":[a-z]*') $(echo "$r" | grep -m1 -o 'heap out of memory')"
done
