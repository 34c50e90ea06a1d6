import { Option, type Command } from 'commander';
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
      ),
  ).action(async (opts: { config?: string; only?: Exclude<WorkerRole, 'all'> }) => {
    await runWorker(loadCliConfig(opts), opts.only ?? 'all');
  });
}
