/** @file The JSON Lines parsing thread (json-thread.ts): parses each batch of lines it is sent and sends them back, in order. */
import { parentPort, workerData } from 'node:worker_threads';
import { parseBatch } from './json-thread.js';

const { lists } = workerData as { lists: readonly string[] };

parentPort!.on('message', ({ id, texts }: { id: number; texts: readonly string[] }) => {
  const { parsed, transfer } = parseBatch(texts, lists);
  parentPort!.postMessage({ id, parsed }, transfer);
});
