/**
 * @file The one error type bento-batch throws for anything a user can fix, and the map
 * from error to process exit code. Only cli/main.ts turns these into an exit.
 */

/** Every failure a user can act on has one of these codes; the exit code follows from it. */
export type BentoErrorCode =
  | 'USAGE' // bad command line
  | 'JOB_INVALID' // job file does not parse or validate
  | 'MANIFEST_INVALID' // bento.yaml does not parse or validate
  | 'INPUT_NOT_FOUND' // a path or glob matches no file
  | 'INPUT_FORMAT' // a file is not what its format says (bad header, not JSON, not Parquet…)
  | 'COLUMN_MISSING' // the model needs a column the input lacks
  | 'INVALID_VALUE' // a cell cannot become the tensor dtype
  | 'MODEL_NOT_FOUND' // the bundle or its ONNX file is missing
  | 'MODEL_LOAD' // onnxruntime cannot load the file
  | 'MODEL_MISMATCH' // the manifest disagrees with the ONNX graph
  | 'MODEL_RUN' // onnxruntime failed on a batch
  | 'OUTPUT_WRITE' // the output cannot be written
  | 'RESUME_REFUSED' // a checkpoint exists but the job, input or model changed since
  | 'TOO_MANY_ERRORS' // more rows failed than errors.max_count / max_rate allow
  | 'MEMORY_LIMIT' // a thread reached its share of limits.memory
  | 'JOB_RUNNING' // another run of the job holds its checkpoint lock
  | 'INTERRUPTED'; // SIGINT / SIGTERM

export interface BentoErrorDetails {
  /** File the problem is in (job file, input file, model file). */
  file?: string;
  /** 1-based data row within `file` (the header is not counted). */
  row?: number;
  column?: string;
  /** What to do about it, shown on its own line. */
  hint?: string;
  /** The offending cell or line, for the errors file. */
  value?: unknown;
  /** Byte offset where the offending row starts in `file` (CSV, JSONL). */
  byte?: number;
  /** For INTERRUPTED: which signal stopped the run (decides 130 vs 143). */
  signal?: 'SIGINT' | 'SIGTERM';
  cause?: unknown;
}

/**
 * A file system error as node gives it (NodeJS.ErrnoException's fields), and an environment:
 * named here so that the published types need no @types/node.
 */
export interface SystemError extends Error {
  code?: string;
  path?: string;
  syscall?: string;
  errno?: number;
}
export type Environment = Readonly<Record<string, string | undefined>>;

/** A failure caused by the job, its inputs or its model, never by a bug in bento-batch. */
export class BentoError extends Error {
  override readonly name = 'BentoError';
  readonly code: BentoErrorCode;
  readonly file: string | undefined;
  readonly row: number | undefined;
  readonly column: string | undefined;
  readonly hint: string | undefined;
  readonly signal: 'SIGINT' | 'SIGTERM' | undefined;
  readonly value: unknown;
  readonly byte: number | undefined;

  constructor(code: BentoErrorCode, message: string, details: BentoErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.row = details.row;
    this.column = details.column;
    this.hint = details.hint;
    this.signal = details.signal;
    this.value = details.value;
    this.byte = details.byte;
  }
}

/** Documented exit codes (README, "Exit codes"). */
export const ExitCode = {
  ok: 0,
  internal: 1,
  config: 2,
  input: 3,
  model: 4,
  output: 5,
  rowErrors: 6,
  running: 7,
  sigint: 130,
  sigterm: 143,
} as const;

const exitByCode: Record<BentoErrorCode, number> = {
  USAGE: ExitCode.config,
  JOB_INVALID: ExitCode.config,
  MANIFEST_INVALID: ExitCode.config,
  INPUT_NOT_FOUND: ExitCode.input,
  INPUT_FORMAT: ExitCode.input,
  COLUMN_MISSING: ExitCode.input,
  INVALID_VALUE: ExitCode.input,
  MODEL_NOT_FOUND: ExitCode.model,
  MODEL_LOAD: ExitCode.model,
  MODEL_MISMATCH: ExitCode.model,
  MODEL_RUN: ExitCode.model,
  OUTPUT_WRITE: ExitCode.output,
  RESUME_REFUSED: ExitCode.config,
  TOO_MANY_ERRORS: ExitCode.rowErrors,
  MEMORY_LIMIT: ExitCode.config,
  JOB_RUNNING: ExitCode.running,
  INTERRUPTED: ExitCode.sigint,
};

/** The process exit code for any thrown value: BentoErrors by code, anything else is a bug. */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof BentoError)) return ExitCode.internal;
  return error.signal === 'SIGTERM' ? ExitCode.sigterm : exitByCode[error.code];
}

/** `value` as p-queue quotes option values: `0` (number), `"x"` (string). */
export function quote(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return JSON.stringify(value);
  return `${String(value)}`;
}

/**
 * `n` with thousands separators, as toLocaleString('en-US') writes integers. Not that call itself:
 * its first use loads ICU's number formats, ~20 ms at the end of every run.
 */
/**
 * Names as a YAML flow list to paste into a job file (`[a, "x, y", "#tag"]`): a name that is not a
 * plain word, or that YAML would read as another value (null, true, 1), in JSON's quotes, which
 * YAML reads as the same string.
 */
export function yamlList(names: readonly string[]): string {
  const plain = (n: string) => /^[A-Za-z_][\w.-]*$/.test(n) && !/^(null|true|false|yes|no|on|off|y|n)$/i.test(n);
  return `[${names.map((n) => (plain(n) ? n : JSON.stringify(n))).join(', ')}]`;
}

export function thousands(n: number): string {
  const [whole, fraction] = String(n).split('.');
  return `${whole!.replace(/\B(?=(\d{3})+$)/g, ',')}${fraction === undefined ? '' : `.${fraction}`}`;
}

/**
 * A name as a message shows it, its invisible characters (a zero-width space or a BOM copied from a
 * web page or Word, a no-break space, a control) written as \uXXXX: else "did you mean" offers
 * what looks like the very name asked for.
 */
export function visible(name: string): string {
  return name.replace(/[\p{Cf}\p{Cc}\u00a0\u2000-\u200a\u2028\u2029\u202f\u3000]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/** Column names for a message, each visible: the first 30 and a count of the rest (a feature table's 1,000 made a hint of 8 KB). */
export function columnList(names: readonly string[]): string {
  const shown = names.slice(0, 30).map(visible).join(', ');
  return names.length > 30 ? `${shown} and ${thousands(names.length - 30)} more` : shown;
}

/**
 * didYouMean's answer as a message shows it (visible), with a hint for a name that differs from the
 * one asked for only by characters no one sees, where "did you mean" alone would look absurd.
 */
export function closestName(name: string, candidates: Iterable<string>): { guess: string; hidden?: string } | undefined {
  const found = didYouMean(name, candidates);
  if (found === undefined) return undefined;
  const guess = visible(found);
  return guess === found ? { guess } : {
    guess, hidden: `"${guess}" holds invisible characters, written \\uXXXX here (they come with names copied from a web page or a document): remove them from the input's header, or write the name so in the job or manifest, in double quotes.`,
  };
}

/** The closest candidate to `name` by edit distance, when it is close enough to be a typo. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // A third of the name, at least one edit: "bach" → "batch", not "name" → "model".
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: two letters swapped (bacth, szie) are one edit, as people make them.
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** An error as it crosses between threads: a BentoError keeps its code and details. */
export interface SerializedError {
  readonly message: string;
  readonly stack: string | undefined;
  readonly code?: BentoErrorCode;
  readonly details?: BentoErrorDetails;
  /** A system error's code, path and call (EACCES on open …): the main thread tells the user of it as the environment's doing. */
  readonly system?: { readonly code?: string; readonly path?: string; readonly syscall?: string };
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof BentoError) {
    const { file, row, column, hint, value, byte, signal } = error;
    return { message: error.message, stack: error.stack, code: error.code, details: { file, row, column, hint, value, byte, signal } };
  }
  const { code, path, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  return {
    message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined,
    ...(typeof code === 'string' ? { system: { code, ...(typeof path === 'string' ? { path } : {}), ...(typeof syscall === 'string' ? { syscall } : {}) } } : {}),
  };
}

export function deserializeError(error: SerializedError): Error {
  const out = error.code ? new BentoError(error.code, error.message, error.details) : Object.assign(new Error(error.message), error.system ?? {});
  if (error.stack) out.stack = error.stack;
  return out;
}

/**
 * A worker thread that died at its heap cap (ERR_WORKER_OUT_OF_MEMORY) as the user's error:
 * the job needs a larger limits.memory, or smaller chunks. Anything else is passed through.
 */
export function memoryLimitError(error: unknown, memoryMb: number, thread: string): unknown {
  if ((error as { code?: string } | undefined)?.code !== 'ERR_WORKER_OUT_OF_MEMORY') return error;
  return new BentoError('MEMORY_LIMIT', `The ${thread} ran out of memory: limits.memory is ${memoryMb} MB`, {
    // The first chunk of a CSV or JSONL input is at least 8,192 rows whatever input.chunk_rows says: for a wide file, fewer columns is what helps.
    hint: `Raise limits.memory in the job file (e.g. --set limits.memory=${memoryMb * 2}); for an input with many columns or long lists, read or keep fewer (input.columns, output.keep); for a Parquet output, lower output.parquet.row_group_rows. A rerun resumes from the last checkpoint.`,
    cause: error,
  });
}

/** A file system error in words a message can end with, for the errors a user can do something about; undefined for others. */
export function fsReason(error: SystemError): string | undefined {
  switch (error.code) {
    case 'ENOSPC': return 'the disk is full';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'the filesystem is read-only';
    case 'EFBIG': return 'the file is larger than allowed';
    case 'EISDIR': return 'it is a directory';
    case 'ENOTDIR': return 'a folder on its path is a file';
    default: return undefined;
  }
}

/** What a log line or a summary says of an error: its code, message, where, and what to do (JSON drops what is unset). */
export function errorFields(error: BentoError): { code: string; message: string; file?: string; row?: number; column?: string; hint?: string } {
  return { code: error.code, message: error.message, file: error.file, row: error.row, column: error.column, hint: error.hint };
}

/** A runtime's message on one line: onnxruntime's go on over several ("… for the following indices\n index: 1 Got: 20 Expected: 16\n Please fix …"), and the first alone says nothing. */
export function oneLine(message: string): string {
  return message.split('\n').map((line) => line.trim()).filter(Boolean).join('; ');
}

/**
 * `error` from a stat of `path`: EACCES means a folder above it is closed to this user, which is
 * said as such (not "does not exist"); anything else is undefined, for the caller to call missing.
 */
export function unreachable(error: SystemError, code: BentoErrorCode, what: string, path: string): undefined {
  if (error.code !== 'EACCES') return undefined;
  throw new BentoError(code, `${what} ${path} cannot be reached: permission denied (a folder above it is not open to this user)`, {
    file: path, hint: 'Give this user access to the folders on the way to it (chmod o+x, or a group), or run as the user that owns them.',
  });
}
