import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { exportNames, getExport } from '../config/exports';
import type * as SyncModule from '../export/schedules/sync';
import type * as BackfillModule from '../export/backfill';
import { addConfigOption, optionDate, withClient } from './config-option';
import { EXIT_REFUSED, fail } from './output';

// The schedule sync and backfill (Temporal client, BigQuery) when a command runs, not to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const sync = () => require('../export/schedules/sync') as typeof SyncModule;
const backfillModule = () => require('../export/backfill') as typeof BackfillModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

type BackfillOpts = { config?: string; all?: boolean; from: string; to: string; force?: boolean; concurrency: string; json?: boolean };

/** Everything `backfill` is given, checked before anything talks to Temporal; returns the exports. */
function checkBackfillArgs(config: Config, exportName: string | undefined, opts: BackfillOpts): string[] {
  if (exportName && opts.all) fail('name one export or pass --all, not both', EXIT_REFUSED);
  if (!exportName && !opts.all) fail('name an export, or pass --all for every export', EXIT_REFUSED);
  const exports = opts.all ? exportNames(config) : [exportName!];
  exports.forEach((n) => getExport(config, n));
  if (!/^\d{1,2}$/.test(opts.concurrency) || Number(opts.concurrency) < 1 || Number(opts.concurrency) > 32) {
    fail(`--concurrency must be a whole number from 1 to 32 (got ${JSON.stringify(opts.concurrency)})`, EXIT_REFUSED);
  }
  const from = optionDate(opts.from, '--from');
  const to = optionDate(opts.to, '--to');
  try {
    backfillModule().dateRange(from, to);
  } catch (err) {
    fail((err as Error).message, EXIT_REFUSED);
  }
  return exports;
}


export function registerScheduleCommands(program: Command): void {
  const schedules = program.command('schedules').description('Temporal Schedules made from the config (the daily fan-out and per-export crons)');

  addConfigOption(schedules.command('sync').description('create, update and delete schedules so they match the config'))
    .option('--dry-run', 'print the changes without making them')
    .option('--json', 'print the plan as JSON')
    .action((opts: { config?: string; dryRun?: boolean; json?: boolean }) =>
      withClient(opts, async (client, config) => {
        const plan = await sync().syncSchedules(client, config, { dryRun: opts.dryRun });
        if (opts.json) return out(JSON.stringify({ dry_run: !!opts.dryRun, ...plan }, null, 2));
        const verb = opts.dryRun ? 'would ' : '';
        for (const id of plan.create) out(`+ ${verb}create ${id}`);
        for (const id of plan.update) out(`~ ${verb}update ${id}`);
        for (const id of plan.delete) out(`- ${verb}delete ${id}`);
        for (const id of plan.unchanged) out(`  unchanged ${id}`);
        if (!plan.create.length && !plan.update.length && !plan.delete.length) out('Schedules already match the config.');
      }),
    );

  addConfigOption(schedules.command('list').description('list the schedules')).option('--json', 'print as JSON').action((opts: { config?: string; json?: boolean }) =>
    withClient(opts, async (client) => {
      const rows = [];
      for await (const s of client.schedule.list()) {
        rows.push({
          id: s.scheduleId,
          cron: s.spec?.calendars?.length ? 'calendar' : undefined,
          paused: s.state.paused,
          note: s.state.note,
          next: s.info.nextActionTimes?.[0]?.toISOString(),
          recent: s.info.recentActions.at(-1)?.action.workflow.workflowId,
        });
      }
      if (opts.json) return out(JSON.stringify(rows, null, 2));
      if (!rows.length) return out('No schedules. Run `bq-sftp schedules sync`.');
      for (const r of rows) out(`${r.id.padEnd(36)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.next ?? '-'}  ${r.note ?? ''}`);
    }),
  );

  const byId = (name: string, description: string, act: (client: Client, id: string, opts: Record<string, unknown>) => Promise<void>) =>
    addConfigOption(schedules.command(`${name} <scheduleId>`).description(description))
      .option('--json', 'print as JSON')
      .option('--reason <text>', 'note recorded on the schedule')
      .action((id: string, opts: { config?: string } & Record<string, unknown>) => withClient(opts, (client) => act(client, id, opts)));

  byId('describe', 'show a schedule: spec, state, recent and next runs', async (client, id, opts) => {
    const d = await client.schedule.getHandle(id).describe();
    const view = {
      id: d.scheduleId,
      paused: d.state.paused,
      note: d.state.note,
      spec: d.spec,
      action: d.action,
      policies: d.policies,
      next_runs: d.info.nextActionTimes.map((t) => t.toISOString()),
      recent_runs: d.info.recentActions.map((a) => ({ scheduled: a.scheduledAt.toISOString(), workflow_id: a.action.workflow.workflowId })),
    };
    out(opts.json ? JSON.stringify(view, null, 2) : JSON.stringify(view, null, 2));
  });
  byId('pause', 'pause a schedule', async (client, id, opts) => {
    await client.schedule.getHandle(id).pause((opts.reason as string) ?? 'paused with bq-sftp');
    out(`paused ${id}`);
  });
  byId('unpause', 'resume a paused schedule', async (client, id, opts) => {
    await client.schedule.getHandle(id).unpause((opts.reason as string) ?? 'unpaused with bq-sftp');
    out(`unpaused ${id}`);
  });
  byId('trigger', 'start a run of the schedule now', async (client, id) => {
    await client.schedule.getHandle(id).trigger();
    out(`triggered ${id}`);
  });
  byId('delete', 'delete a schedule (sync recreates it while the config has it)', async (client, id) => {
    await client.schedule.getHandle(id).delete();
    out(`deleted ${id}`);
  });

  addConfigOption(
    program
      .command('backfill [export]')
      .description('run an export (or --all) once per date of a range; dates that already succeeded are skipped')
      .option('--all', 'every enabled export')
      .requiredOption('--from <YYYY-MM-DD>', 'first logical date')
      .requiredOption('--to <YYYY-MM-DD>', 'last logical date (inclusive)')
      .option('--force', 'rerun dates that already succeeded')
      .option('--concurrency <n>', 'runs at once', '3')
      .option('--json', 'print the outcome as JSON'),
  ).action((exportName: string | undefined, opts: BackfillOpts) =>
    withClient(opts, async (client, config) => {
      const exports = checkBackfillArgs(config, exportName, opts);
      const concurrency = Number(opts.concurrency);
      const items = await backfillModule().backfill(client, config, {
        exports,
        from: opts.from,
        to: opts.to,
        force: opts.force,
        concurrency,
        onProgress: (item, finished, total) => {
          if (!opts.json) out(`[${finished}/${total}] ${item.status.padEnd(9)} ${item.workflow_id}${item.error ? `  ${item.error}` : ''}`);
        },
      });
      if (opts.json) out(JSON.stringify(items, null, 2));
      return items.some((i) => i.status === 'failed') ? 1 : 0;
    }, (config) => void checkBackfillArgs(config, exportName, opts)),
  );
}
