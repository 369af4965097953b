/**
 * @file JSON Lines parsed on a thread of their own. A line of an embedding (768 numbers, ~15 KB)
 * took ~70 µs in JSON.parse, two thirds of the reading thread's time, while the second core
 * idled. The thread parses batches of lines as parseExact does here, and sends back each line's
 * value; a list of numbers under a key the model alone reads goes as a Float64Array view of one
 * buffer a batch, moved, not copied: structured clone rebuilt arrays of numbers at half to all
 * the cost of parsing them (180–410 against ~350 ms for 5,000 such lines).
 */
import { Worker } from 'node:worker_threads';
import { parseExact } from './json.js';

/** A line parsed: its value and whether it held Python's bare NaN or Infinity (parseExact's lenient), or JSON.parse's message. */
export type ParsedLine = { readonly value: unknown; readonly lenient: boolean } | { readonly error: string };

/** One line, parsed as parseExact parses it. */
export function parseLine(text: string): ParsedLine {
  const lenient = { used: false };
  try {
    const value = parseExact(text, lenient);
    return { value, lenient: lenient.used };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * Lines parsed, each object's lists of numbers under `lists` (and only lists wholly of numbers)
 * made Float64Array views of one buffer, which `transfer` holds for the post that moves them.
 */
export function parseBatch(texts: readonly string[], lists: readonly string[]): { parsed: ParsedLine[]; transfer: ArrayBuffer[] } {
  const parsed = texts.map(parseLine);
  const found: [Record<string, unknown>, string, number[]][] = [];
  let total = 0;
  for (const line of parsed) {
    if (!('value' in line) || line.value === null || typeof line.value !== 'object' || Array.isArray(line.value)) continue;
    const record = line.value as Record<string, unknown>;
    for (const key of lists) {
      const list = Object.hasOwn(record, key) ? record[key] : undefined;
      if (!Array.isArray(list) || list.length === 0 || !numbersOnly(list)) continue;
      found.push([record, key, list]);
      total += list.length;
    }
  }
  if (total === 0) return { parsed, transfer: [] };
  const values = new Float64Array(total);
  let at = 0;
  for (const [record, key, list] of found) {
    values.set(list, at);
    record[key] = values.subarray(at, at + list.length);
    at += list.length;
  }
  return { parsed, transfer: [values.buffer] };
}

function numbersOnly(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'number') return false;
  return true;
}

/** A batch sent to the thread. */
interface Request {
  readonly id: number;
  readonly texts: readonly string[];
}

/** Its answer. */
interface Answer {
  readonly id: number;
  readonly parsed: ParsedLine[];
}

/** The parsing thread of one JSON Lines file: batches in, their lines parsed out, in the order asked. */
export class LineParser {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (parsed: ParsedLine[]) => void; reject: (error: Error) => void }>();
  #next = 0;
  #failed: Error | undefined;

  /** `lists`: the keys whose lists of numbers come as Float64Array views; `heapMb`: the thread's heap cap; `notes`: where its failure is told. */
  constructor(lists: readonly string[], heapMb: number, notes?: string[]) {
    this.#worker = new Worker(new URL('./json-worker.js', import.meta.url), { workerData: { lists }, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    this.#worker.on('message', (answer: Answer) => {
      const waiting = this.#waiting.get(answer.id);
      // Closed with the batch out (the reader stopped on a failure, or early): an answer that was
      // already on its way is let go. Taken as awaited, it threw in this handler, and the thread's
      // uncaught TypeError stopped the run in the reader's stead.
      if (waiting === undefined) return;
      this.#waiting.delete(answer.id);
      waiting.resolve(answer.parsed);
    });
    const fail = (error: Error) => {
      // Told once, and not where it was closed: the reader parses on without it (jsonl.ts, parsedLines).
      if (this.#failed === undefined) notes?.push(`the JSON parsing thread stopped (${error.message}); lines are parsed on the reading thread from here on`);
      this.#failed ??= error;
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`the JSON parsing thread stopped (exit code ${code})`)));
  }

  /** Batches sent and not yet answered. */
  get pending(): number {
    return this.#waiting.size;
  }

  /** Whether the thread has stopped (failed, or closed): a batch sent now fails. */
  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** `texts` parsed on the thread, in the order sent; rejects once the thread has failed or is closed. */
  parse(texts: readonly string[]): Promise<ParsedLine[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, texts } satisfies Request);
    });
  }

  async close(): Promise<void> {
    // Its answers are no longer awaited: its exit is not a failure.
    this.#failed ??= new Error('the JSON parsing thread is closed');
    this.#waiting.clear();
    await this.#worker.terminate();
  }
}
