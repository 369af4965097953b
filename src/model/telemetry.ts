/**
 * @file onnxruntime's telemetry, off unless asked for. Its own module so the command line can
 * set it before any thread loads onnxruntime, without loading onnxruntime itself.
 */
import { isMainThread } from 'node:worker_threads';

/**
 * The environment variable with which onnxruntime (1.30 on, Linux and macOS: microsoft/onnxruntime#27379)
 * leaves out its telemetry: uploads to Microsoft's event collector
 * (mobile.events.data.microsoft.com), a persistent device id and an event cache under
 * ~/.cache/Microsoft/DeveloperTools, on by default in the npm package.
 */
const telemetryVariable = 'ORT_DISABLE_TELEMETRY';

/**
 * Sets ORT_DISABLE_TELEMETRY=1 unless it is set already (to 0, say, to allow it). A batch job
 * reads a company's data on its schedulers and reports to no one it was not told to. With it on,
 * a 10 s run looked up the collector's address by DNS, and every run wrote a 3 MB SQLite cache
 * with fsyncs at start and exit (the bundled job: 0.38–0.43 s and 106–108 MB against 0.38–0.41 s
 * and 103–104 MB with it off, 8 interleaved pairs). onnxruntime reads the variable once, when its
 * environment is made, from the process's C environment, which only the main thread's
 * process.env writes to (a worker thread's is a copy), so this must run on the main thread
 * before any thread makes a session.
 */
export function keepRuntimeTelemetryOff(): void {
  if (isMainThread && process.env[telemetryVariable] === undefined) process.env[telemetryVariable] = '1';
}
