import { InvalidArgumentError, Option, type Command } from 'commander';
import { runWorker, type WorkerRole } from '../worker';
import { addConfigOption, loadCliConfig } from './config-option';

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
    await runWorker(loadCliConfig(opts), opts.only ?? 'all', { metricsPort: opts.metricsPort });
  });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number between 1 and 65535, e.g. 9464');
  return n;
}
