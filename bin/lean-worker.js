'use strict';
// `bq-sftp worker` runs lean by default (issue 20): one malloc arena (MALLOC_ARENA_MAX=1) and
// 1 MiB V8 semi-spaces (--max-semi-space-size=1) keep a worker's memory flat during large
// transfers at the same speed. Both must be set before a process starts, so when they are
// missing this launcher starts the worker again with them and passes signals and the exit code
// through; it loads nothing else. BQSFTP_WORKER_LEAN=0 runs the worker as started (no launcher).
// The worker ends itself when its launcher is gone (SIGKILL included), so a killed worker never
// leaves an orphan behind.
const { spawn } = require('node:child_process');

const SEMI = '--max-semi-space-size';

/** true when the worker should be started again with the lean settings */
function needsLeanRestart(argv, env) {
  if (argv[0] !== 'worker' || env.BQSFTP_WORKER_LEAN === '0' || env.BQSFTP_LEAN_WORKER_CHILD === '1') return false;
  const semi = process.execArgv.some((a) => a.startsWith(SEMI)) || (env.NODE_OPTIONS || '').includes(SEMI);
  return !(semi && env.MALLOC_ARENA_MAX);
}

function runLeanWorker(script, argv) {
  const env = { ...process.env, BQSFTP_LEAN_WORKER_CHILD: '1' };
  if (!env.MALLOC_ARENA_MAX) env.MALLOC_ARENA_MAX = '1';
  const semi = process.execArgv.some((a) => a.startsWith(SEMI)) || (env.NODE_OPTIONS || '').includes(SEMI);
  const child = spawn(process.execPath, [...process.execArgv, ...(semi ? [] : [`${SEMI}=1`]), script, ...argv], {
    env,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`bq-sftp: could not start the worker: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

/** In the started worker: end at once when the launcher is gone. */
function watchLauncher() {
  if (process.env.BQSFTP_LEAN_WORKER_CHILD !== '1' || typeof process.send !== 'function') return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref?.();
}

module.exports = { needsLeanRestart, runLeanWorker, watchLauncher };
