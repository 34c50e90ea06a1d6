import type { Command } from 'commander';
import { runWorker } from '../worker';
import { addConfigOption, loadCliConfig } from './config-option';

export function registerWorkerCommand(program: Command): void {
  addConfigOption(
    program.command('worker').description('run a worker: executes export runs, schedules and API requests from the task queue'),
  ).action(async (opts: { config?: string }) => {
    await runWorker(loadCliConfig(opts));
  });
}
