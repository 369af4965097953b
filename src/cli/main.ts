/**
 * @file The bento-batch command line: declares the commands, lazily loads each one, and is
 * the only place that turns errors into messages and exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { BentoError, ExitCode, exitCodeFor } from '../errors.js';
import type { LogFormat } from '../run/progress.js';

const version = '0.1.0';
const collect = (value: string, previous: string[]) => [...previous, value];
let debug = false;
let logFormat: LogFormat = process.stderr.isTTY ? 'text' : 'json';

function program(): Command {
  const cli = new Command('bento-batch')
    .description('Run a packed ONNX model over CSV, JSONL or Parquet files, in batches.')
    .version(version)
    .option('--debug', 'show stack traces for every error')
    .addOption(new Option('--log-format <format>', 'log lines on stderr (default: text on a terminal, json otherwise)').choices(['text', 'json']))
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
    .hook('preAction', (command) => {
      const o = command.opts<{ debug?: boolean; logFormat?: LogFormat }>();
      debug = o.debug ?? false;
      logFormat = o.logFormat ?? logFormat;
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
      const { run } = await import('./commands/run.js');
      await run({ job, set: o.set, summaryJson: o.summaryJson, progress: o.progress, logFormat, dryRun: o.dryRun ?? false, restart: o.restart ?? false });
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

  cli.command('inspect')
    .description("print a model's inputs and outputs and, for a bundle, its manifest mapping")
    .argument('<model>', 'bundle directory or .onnx file')
    .option('--json', 'print JSON')
    .action(async (target: string, o: { json?: boolean }) => {
      const { inspect } = await import('./commands/inspect.js');
      await inspect({ target, json: o.json ?? false });
    });
  return cli;
}

/** Parses argv, runs the command and exits with the documented code. */
export async function main(argv: readonly string[] = process.argv): Promise<never> {
  let code: number = ExitCode.ok;
  try {
    await program().parseAsync([...argv]);
  } catch (error) {
    code = report(error);
  }
  // Let stdout/stderr drain before leaving (they are async when piped).
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.config;
  }
  const code = exitCodeFor(error);
  if (error instanceof BentoError) {
    if (logFormat === 'json') {
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'error', code: error.code, exit_code: code, message: error.message, file: error.file, row: error.row, column: error.column, hint: error.hint })}\n`);
    } else {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    }
    if (debug) process.stderr.write(`${error.stack}\n`);
    return code;
  }
  process.stderr.write(`internal error: ${(error as Error)?.stack ?? String(error)}\nThis is a bug in bento-batch, not in your job. Please report it with the command you ran and this message.\n`);
  return code;
}

await main();
