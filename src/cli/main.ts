/**
 * @file The bento-batch command line: declares the commands, lazily loads each one, and is
 * the only place that turns errors into messages and exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { BentoError, errorFields, ExitCode, exitCodeFor, fsReason } from '../errors.js';
import { keepRuntimeTelemetryOff } from '../model/telemetry.js';
import { Logger, type LogFormat } from '../run/progress.js';
import { holdSignals, releaseSignals } from '../run/signals.js';
import { failpoint } from '../checkpoint/failpoint.js';

// Before any thread loads onnxruntime (model/telemetry.ts).
keepRuntimeTelemetryOff();

// A run's stop signal is kept from the first moment (run/signals.ts); other commands let it go in preAction.
if (process.argv.includes('run')) holdSignals();

// Log lines that cannot be written (a log shipper gone or `| head`: EPIPE; a terminal hung up
// under a detached run: EIO; a log file's disk full: ENOSPC) are lost, not the run: its output,
// checkpoint, summary file and exit status do not depend on them.
process.stderr.on('error', () => undefined);
/** A write to stdout that failed other than by a closed pipe: a command's output (status --json, inspect) is lost, and its exit status says so. */
let stdoutFailed: NodeJS.ErrnoException | undefined;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') stdoutFailed ??= error;
});

const version = '0.1.0';
const collect = (value: string, previous: string[]) => [...previous, value];
let debug = false;
let logFormat: LogFormat = process.stderr.isTTY ? 'text' : 'json';
/** Commander's message for a usage error, held until report() knows the log format. */
let usageText = '';

function program(): Command {
  const cli = new Command('bento-batch')
    .description('Run a packed ONNX model over CSV, JSONL or Parquet files, in batches.')
    .version(version)
    .option('--debug', 'show stack traces for every error')
    .addOption(new Option('--log-format <format>', 'log lines on stderr (default: text on a terminal, json otherwise)').choices(['text', 'json']))
    // Global options go before the command, so `pack --version 1.2` is the command's own option.
    .enablePositionalOptions()
    .exitOverride()
    // Usage errors are printed by report(), as a JSON line where the log format says so.
    .configureOutput({ outputError: (text) => (usageText += text) })
    .hook('preAction', (command, action) => {
      if (action.name() !== 'run') releaseSignals();
      const o = command.opts<{ debug?: boolean; logFormat?: LogFormat }>();
      const own = action.opts<{ debug?: boolean; logFormat?: LogFormat }>();
      debug = own.debug ?? o.debug ?? false;
      Logger.verbose = debug;
      logFormat = own.logFormat ?? o.logFormat ?? logFormat;
      // A shell standing in a folder deleted under it: every relative path would fail as a crash.
      try {
        process.cwd();
      } catch {
        throw new BentoError('USAGE', 'The current directory no longer exists (it was deleted or moved after the shell entered it)', { hint: 'cd to an existing directory and run the command again.' });
      }
    });

  cli.command('run')
    .description('score the input of a job file and write the output file')
    .argument('<job>', 'job file (YAML)')
    .option('--set <key=value>', 'override a job key, e.g. --set batch.size=512 (repeatable)', collect, [])
    .option('--summary-json <file>', 'also write the final summary as JSON to this file')
    .addOption(new Option('--progress <mode>', 'progress display').choices(['auto', 'bar', 'log', 'none']).default('auto'))
    .option('--dry-run', 'check the job, the model and the first rows, then stop without writing')
    .option('--restart', 'discard the checkpoint (or a finished run) and start over')
    .action(async (job: string, o: { set: string[]; summaryJson?: string; progress: 'auto' | 'bar' | 'log' | 'none'; dryRun?: boolean; restart?: boolean }) => {
      failpoint('run-started');
      // The scoring thread starts loading the pipeline while this thread loads the run command and the job.
      const scoringThread = o.dryRun ? undefined : (await import('../run/thread.js')).startScoringThread();
      const { run } = await import('./commands/run.js');
      await run({ job, set: o.set, summaryJson: o.summaryJson, progress: o.progress, logFormat, dryRun: o.dryRun ?? false, restart: o.restart ?? false, ...(scoringThread ? { scoringThread } : {}) });
    });

  cli.command('status')
    .description('show whether a job has not started, is in progress (and how far), is finished, or is stale')
    .argument('<job>', 'job file (YAML)')
    .option('--set <key=value>', 'override a job key (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(async (job: string, o: { set: string[]; json?: boolean }) => {
      const { status } = await import('./commands/status.js');
      await status({ job, set: o.set, json: o.json ?? false });
    });

  cli.command('validate')
    .description('check a job file, its model and its input without running it')
    .argument('<job>', 'job file (YAML)')
    .option('--set <key=value>', 'override a job key (repeatable)', collect, [])
    .action(async (job: string, o: { set: string[] }) => {
      const { validate } = await import('./commands/validate.js');
      await validate({ job, set: o.set, logFormat });
    });

  cli.command('pack')
    .description('pack an ONNX model into a bundle (manifest + model) and save it to the store as NAME:VERSION')
    .argument('<model>', '.onnx file')
    .requiredOption('--name <name>', 'model name')
    .option('--version <version>', 'version (default: a sortable time-based id)')
    .option('--manifest <file>', 'bento.yaml with inputs/outputs (name, version and model are filled in)')
    .option('--columns <tensor=cols>', 'input tensor from these columns, e.g. features=a,b,c (repeatable)', collect, [])
    .option('--labels <tensor=labels>', 'class names for an output tensor, e.g. logits=cat,dog (repeatable)', collect, [])
    .option('--activation <tensor=fn>', 'softmax, sigmoid or none for an output tensor (repeatable)', collect, [])
    .option('--fill <tensor=values>', 'value(s) for missing cells of an input tensor (repeatable)', collect, [])
    .option('--outputs <tensors>', 'comma-separated output tensors to map (default: every tensor output)', (v) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .option('--max-batch <n>', 'largest batch the model accepts (default 4096; fixed-batch models use their size)', (v) => (/^\d+$/.test(v.trim()) ? Number(v) : Number.NaN))
    .option('--description <text>', 'one line about the model')
    .option('--file <path>', 'extra file to ship in the bundle, e.g. tokenizer.json (repeatable)', collect, [])
    .option('--output <dir>', 'write the bundle to this directory instead of the store')
    .action(async (model: string, o: { name: string; version?: string; manifest?: string; columns: string[]; labels: string[]; activation: string[]; fill: string[]; outputs?: string[]; maxBatch?: number; description?: string; file: string[]; output?: string }) => {
      const { pack } = await import('./commands/pack.js');
      // Its lines are log events like any command's (JSON lines off a terminal).
      const { Logger } = await import('../run/progress.js');
      const logger = new Logger(logFormat);
      const log = logFormat === 'json' ? (line: string) => (line.startsWith('note: ') ? logger.event('warn', 'note', line.slice(6)) : logger.event('info', 'packed', line)) : undefined;
      await pack({ model, name: o.name, version: o.version, manifest: o.manifest, columns: o.columns, labels: o.labels, activation: o.activation, fill: o.fill, outputs: o.outputs, maxBatch: o.maxBatch, description: o.description, files: o.file, output: o.output }, log);
    });

  const models = cli.command('models').description('the local model store ($BENTO_BATCH_HOME/models, default ~/.bento-batch/models)');
  models.command('list').description('list stored models').option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => (await import('./commands/models.js')).list({ json: o.json ?? false, warn: (m) => new Logger(logFormat).event('warn', 'unreadable', m) }));
  models.command('show').description('show a stored model: signature mapping, size, created, sha256').argument('<tag>', 'NAME[:VERSION]').option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }) => (await import('./commands/models.js')).show({ ref, json: o.json ?? false }));
  models.command('delete').description('delete NAME:VERSION from the store').argument('<tag>', 'NAME:VERSION')
    .action(async (ref: string) => (await import('./commands/models.js')).remove({ ref }));
  models.command('export').description('write NAME[:VERSION] as a .tar.gz bundle archive').argument('<tag>', 'NAME[:VERSION]').argument('<file>', 'FILE.tar.gz')
    .action(async (ref: string, file: string) => (await import('./commands/models.js')).exportModel({ ref, file }));
  models.command('import').description('add a bundle archive to the store').argument('<file>', 'FILE.tar.gz')
    .action(async (file: string) => (await import('./commands/models.js')).importModel({ file }));

  cli.command('inspect')
    .description("print a model's inputs and outputs and, for a bundle, its manifest mapping")
    .argument('<model>', 'bundle directory, bundle archive, store tag or .onnx file')
    .option('--json', 'print JSON')
    .action(async (target: string, o: { json?: boolean }) => {
      const { inspect } = await import('./commands/inspect.js');
      await inspect({ target, json: o.json ?? false });
    });
  for (const command of [...cli.commands.filter((c) => c !== models), ...models.commands]) globalOptionsAfter(command);
  return cli;
}

/** --debug and --log-format also after the command (`run job.yaml --debug`), where most people type them. */
function globalOptionsAfter(command: Command): void {
  command.option('--debug', 'show stack traces for every error')
    .addOption(new Option('--log-format <format>', 'log lines on stderr (default: text on a terminal, json otherwise)').choices(['text', 'json']));
}

/** The --log-format value anywhere in `argv`, for a usage error found before the command's options were parsed. */
function logFormatIn(argv: readonly string[]): LogFormat | undefined {
  const at = argv.findLastIndex((a) => a === '--log-format' || a.startsWith('--log-format='));
  const value = at < 0 ? undefined : argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
  return value === 'json' || value === 'text' ? value : undefined;
}

/** Parses argv, runs the command and exits with the documented code. */
export async function main(argv: readonly string[] = process.argv): Promise<never> {
  let code: number = ExitCode.ok;
  const cli = program();
  try {
    await cli.parseAsync([...argv]);
  } catch (error) {
    // A usage error comes before the preAction hook: the global options parsed so far say the format.
    logFormat = cli.opts<{ logFormat?: LogFormat }>().logFormat ?? logFormatIn(argv) ?? logFormat;
    code = report(error);
  }
  // Let stdout/stderr drain before leaving (they are async when piped). Not by writing nothing to
  // stdout: /dev/full refuses even that, and a command that printed nothing there has lost nothing.
  if (process.stdout.writableLength > 0) await new Promise<void>((resolve) => process.stdout.once('drain', resolve).once('error', () => resolve()).once('close', resolve));
  // A failed write to a file or device is reported on a later tick.
  await new Promise((resolve) => setImmediate(resolve));
  if (stdoutFailed && code === ExitCode.ok) {
    code = report(new BentoError('OUTPUT_WRITE', `Cannot write to standard output: ${fsReason(stdoutFailed) ?? stdoutFailed.message}`, { hint: 'Send the output where it can be written (a file on a disk with room, a pipe).' }));
  }
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    if (error.exitCode === 0) return ExitCode.ok;
    if (logFormat === 'json') {
      // A bare `bento-batch` (or `models`) printed its help: commander's own message for that is "(outputHelp)".
      const message = usageText.trim().replace(/^error: /, '') || (error.code === 'commander.help' ? 'no command given' : error.message);
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'error', code: 'USAGE', exit_code: ExitCode.config, message, hint: 'See bento-batch --help, or bento-batch COMMAND --help.' })}\n`);
    } else process.stderr.write(`${usageText.trimEnd()}\nhint: See bento-batch --help, or bento-batch COMMAND --help.\n`);
    return ExitCode.config;
  }
  const code = exitCodeFor(error);
  if (error instanceof BentoError) {
    if (logFormat === 'json') {
      const { code: name, ...fields } = errorFields(error);
      // --debug's stack as a field: lines of its own would break the stream of JSON lines.
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'error', ...jobField(), code: name, exit_code: code, ...fields, ...(debug ? { stack: error.stack } : {}) })}\n`);
    } else {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      if (debug) process.stderr.write(`${error.stack}\n`);
    }
    return code;
  }
  // A folder or file this user may not read or write (a read-only store, cache or TMPDIR in a
  // locked-down pod): the environment's doing, said as such.
  const system = error as NodeJS.ErrnoException;
  if (system?.path && ['EACCES', 'EPERM', 'EROFS'].includes(system.code ?? '') || (system?.syscall === 'mkdtemp' && system.code === 'ENOENT')) {
    const why = system.code === 'ENOENT' ? 'its folder does not exist' : fsReason(system);
    const userError = new BentoError('OUTPUT_WRITE', `Cannot ${system.syscall ?? 'use'} ${system.path}: ${why}`, {
      file: system.path, hint: 'Give this user access to it, or point bento-batch elsewhere: BENTO_BATCH_HOME for the model store and its cache, TMPDIR for temporary files.',
    });
    return report(userError);
  }
  const request = 'This is a bug in bento-batch, not in your job. Please report it with the command you ran and this message.';
  if (logFormat === 'json') {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'internal-error', ...jobField(), code: 'INTERNAL', exit_code: code, message: String((error as Error)?.message ?? error), stack: (error as Error)?.stack, hint: request })}\n`);
  } else process.stderr.write(`internal error: ${(error as Error)?.stack ?? String(error)}\n${request}\n`);
  return code;
}

/** The job the JSON error line is of, where its file was read (run/progress.ts, Logger.job). */
function jobField(): { job?: string } {
  return Logger.job !== undefined ? { job: Logger.job } : {};
}

await main();
