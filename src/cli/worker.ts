import { InvalidArgumentError, Option, type Command } from 'commander';
import type * as WorkerModule from '../worker';
import type * as ReplayModule from '../replay';
import { addConfigOption, clientFor, loadCliConfig } from './config-option';

type WorkerRole = WorkerModule.WorkerRole;

// The worker and replay modules load the Temporal worker SDK (seconds): only when these commands
// run. `require`, not `import()`: under tsx's CommonJS hook a dynamic import goes to the ESM loader.
/* eslint-disable @typescript-eslint/no-require-imports */
const workerModule = () => require('../worker') as typeof WorkerModule;
const replayModule = () => require('../replay') as typeof ReplayModule;
/* eslint-enable @typescript-eslint/no-require-imports */

export function registerWorkerCommand(program: Command): void {
  addConfigOption(
    program
      .command('worker')
      .description('run a worker: executes export runs, schedules and API requests from the task queue')
      .addOption(
        new Option('--only <half>', 'run only the activities (the transfers) or only the workflows; each task queue needs both somewhere').choices([
          'activities',
          'workflows',
        ]),
      )
      .option('--metrics-port <port>', 'serve /metrics (Prometheus: the Temporal SDK\'s worker metrics and ours) on this port; config metrics.prometheus does the same', parsePort),
  ).action(async (opts: { config?: string; only?: Exclude<WorkerRole, 'all'>; metricsPort?: number }) => {
    const { runWorker } = workerModule();
    await runWorker(loadCliConfig(opts), opts.only ?? 'all', { metricsPort: opts.metricsPort });
  });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number between 1 and 65535, e.g. 9464');
  return n;
}

/** `bq-sftp replay`: replay recorded histories (default: every open run) against this build's workflow code. */
export function registerReplayCommand(program: Command): void {
  addConfigOption(
    program
      .command('replay')
      .description("replay the histories of runs (default: every open run) against this build's workflow code; exit 1 when one would break — run it before a rollout")
      .option('--query <filter>', 'a Temporal List filter choosing the runs', "ExecutionStatus = 'Running'")
      .option('--limit <n>', 'the most runs to replay', (v) => Number(v), 1000)
      .option('--json', 'machine-readable output'),
  ).action(async (opts: { config?: string; query: string; limit: number; json?: boolean }) => {
    const config = loadCliConfig(opts);
    const { installRuntime, workerBuildId } = workerModule();
    const { fetchHistories, replayHistories } = replayModule();
    process.env.BQSFTP_LOG_LEVEL ??= 'WARN'; // the replay worker's state changes are no news here
    installRuntime();
    const client = await clientFor(config);
    try {
      const histories = await fetchHistories(client, opts.query, opts.limit);
      const outcomes = await replayHistories(config, histories);
      const failed = outcomes.filter((o) => !o.ok);
      if (opts.json) process.stdout.write(`${JSON.stringify({ build_id: workerBuildId(), replayed: outcomes.length, failed }, null, 2)}\n`);
      else {
        process.stdout.write(`replayed ${outcomes.length} run${outcomes.length === 1 ? '' : 's'} against build ${workerBuildId()}: ${failed.length} would break\n`);
        for (const f of failed) process.stdout.write(`  ${f.workflowType} ${f.workflowId}: ${f.error}\n`);
      }
      if (failed.length > 0) process.exitCode = 1;
    } finally {
      await client.connection.close();
    }
  });
}
