import type { Command } from 'commander';
import type { Config } from '../config';
import type * as DepsModule from '../activities/deps';
import type * as BackupStarterModule from '../backup/starter';
import type * as DestinationsModule from '../backup/destinations';
import { tablesFolder, tableBackupsFolder, folderDate } from '../backup/naming';
import { failures, notify, temporalClient } from './lazy-modules';
import { addConfigOption, loadCliConfig, optionDate, withClient } from './config-option';
import { EXIT_REFUSED, fail, formatBytes } from './output';

// The Temporal client, the backup family and its destinations (Cloud Storage, Box, ssh2) when a
// command runs, not to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const activityDeps = () => require('../activities/deps') as typeof DepsModule;
const backupStarter = () => require('../backup/starter') as typeof BackupStarterModule;
const destinations = () => require('../backup/destinations') as typeof DestinationsModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function out(s = ''): void {
  process.stdout.write(`${s}\n`);
}

function tablesOption(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of list) if (!/^[A-Za-z0-9_]{1,1024}$/.test(t)) fail(`--tables: "${t}" is not a BigQuery table id (letters, digits, '_')`, EXIT_REFUSED);
  return list.length ? list : undefined;
}

function checkBackup(config: Config, name: string): void {
  try {
    backupStarter().getBackupConfig(config, name);
  } catch (err) {
    fail(`<backup>: ${(err as Error).message}`, EXIT_REFUSED);
  }
}

async function failed<T>(p: Promise<T>, label: string, url: string, json?: boolean): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (!(err instanceof temporalClient().WorkflowFailedError)) throw err;
    const f = failures().describeFailure(err.cause);
    if (json) out(JSON.stringify({ status: 'failed', url, error: f }, null, 2));
    process.stderr.write(`bq-sftp: ${label} failed: ${f.type}: ${f.message} (Web UI: ${url})\n`);
    return undefined;
  }
}

export function registerBackupCommands(program: Command): void {
  const backup = program.command('backup').description('BigQuery datasets → Parquet → SFTP / GCS / Box: run, list, verify, restore (seed 003)');

  addConfigOption(
    backup
      .command('run <backup>')
      .description("back a dataset up now (one durable run per backup and date; prints the seed's /sync answer)")
      .option('--date <YYYY-MM-DD>', 'logical date (default: today, UTC)')
      .option('--tables <a,b,...>', 'only these tables')
      .option('--no-wait', 'start and return')
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: { config?: string; date?: string; tables?: string; wait: boolean; json?: boolean }) => {
    const { startBackup, today } = backupStarter();
    const date = optionDate(opts.date ?? today(), '--date');
    const tables = tablesOption(opts.tables);
    await withClient(opts, async (client, config) => {
      const handle = await startBackup(client, config, { backup: name, date, tables });
      const { runId } = await handle.describe();
      const url = notify().runUrl(config, handle.workflowId, runId);
      if (!opts.wait) {
        out(opts.json ? JSON.stringify({ workflow_id: handle.workflowId, run_id: runId, url }) : `Started ${handle.workflowId}\n  Web UI: ${url}`);
        return 0;
      }
      if (!opts.json) out(`Running ${handle.workflowId} …`);
      const r = await failed(handle.result(), `backup ${name} ${date}`, url, opts.json);
      if (!r) return 1;
      if (opts.json) out(JSON.stringify({ ...r, url }, null, 2));
      else {
        out(JSON.stringify({ dataset: r.dataset, success: r.success, errors: r.errors, tables: r.tables.map((t) => t.table) }));
        for (const t of r.tables) {
          out(
            t.status === 'success'
              ? `  ✔ ${t.table}: ${t.rows} rows, ${t.files} file(s), ${formatBytes(t.bytes ?? 0)} → ${t.location}${t.parquet_writer ? ` (Parquet by ${t.parquet_writer})` : ''}`
              : `  ✘ ${t.table} (${t.step}): ${t.error_type}: ${t.error}`,
          );
        }
        if (r.skipped_views.length) out(`  views skipped: ${r.skipped_views.join(', ')}`);
        out(`  Web UI: ${url}`);
      }
      return r.errors ? 1 : 0;
    }, (config) => checkBackup(config, name));
  });

  addConfigOption(
    backup
      .command('list [backup]')
      .description('the configured backups; with a name, the dated backups of each table at its destination')
      .option('--json', 'print JSON'),
  ).action(async (name: string | undefined, opts: { config?: string; json?: boolean }) => {
    const config = loadCliConfig(opts);
    const { configuredBackups, getBackupConfig } = backupStarter();
    if (!name) {
      const rows = Object.entries(configuredBackups(config)).map(([n, b]) => ({
        backup: n,
        dataset: `${b.project_id ?? config.bigquery?.project_id ?? ''}.${b.dataset}`,
        tables: b.tables ?? 'all',
        format: `${b.format}/${b.compression}`,
        destination: b.destination.type === 'sftp' ? `sftp:${b.destination.sftp ?? 'default'}` : b.destination.type === 'gcs' ? `gs://${b.destination.bucket}` : `box:${b.destination.folder_id}`,
        path: b.path,
        schedule: b.schedule ? `${b.schedule.cron} ${b.schedule.timezone}${b.schedule.paused ? ' (paused)' : ''}` : null,
        retention: b.retention ?? null,
      }));
      if (opts.json) out(JSON.stringify(rows, null, 2));
      else if (!rows.length) out('no backups configured (add a "backups" block to the config)');
      else for (const r of rows) out(`${r.backup}: ${r.dataset} (${Array.isArray(r.tables) ? r.tables.join(', ') : r.tables}) → ${r.destination} ${r.path}  ${r.format}${r.schedule ? `  schedule ${r.schedule}` : ''}${r.retention ? `  keep ${r.retention}` : ''}`);
      return;
    }
    checkBackup(config, name);
    const b = getBackupConfig(config, name);
    const deps = activityDeps().buildActivityDeps(config);
    try {
      const dest = destinations().openDestination(deps, name, b);
      const v = { backup: name, project: b.project_id ?? config.bigquery?.project_id ?? '', dataset: b.dataset };
      const tables = (await dest.list(tablesFolder(b.path, v))).filter((e) => e.type === 'dir').map((e) => e.name).sort();
      const result: Record<string, string[]> = {};
      for (const t of tables) {
        const { folder, datePattern } = tableBackupsFolder(b.path, { ...v, table: t });
        result[t] = (await dest.list(folder)).filter((e) => e.type === 'dir' && datePattern.test(e.name)).map((e) => folderDate(e.name)).sort();
      }
      if (opts.json) out(JSON.stringify({ backup: name, location: dest.describe(tablesFolder(b.path, v)), tables: result }, null, 2));
      else {
        out(`${name} at ${dest.describe(tablesFolder(b.path, v))}:`);
        for (const [t, dates] of Object.entries(result)) out(`  ${t}: ${dates.join(', ') || '(none)'}`);
      }
    } finally {
      await deps.sftpPool.closeAll();
    }
  });

  addConfigOption(
    backup
      .command('verify <backup>')
      .description("re-list the destination and re-read every file: sizes and sha256 against each table's _BACKUP.json")
      .requiredOption('--date <YYYY-MM-DD>', 'the backup to verify')
      .option('--tables <a,b,...>', 'only these tables')
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: { config?: string; date: string; tables?: string; json?: boolean }) => {
    const date = optionDate(opts.date, '--date');
    const tables = tablesOption(opts.tables);
    await withClient(opts, async (client, config) => {
      const handle = await backupStarter().startBackupVerify(client, config, { backup: name, date, ...(tables ? { tables } : {}) });
      const url = notify().runUrl(config, handle.workflowId);
      const r = await failed(handle.result(), `verify ${name} ${date}`, url, opts.json);
      if (!r) return 1;
      if (opts.json) out(JSON.stringify({ ...r, url }, null, 2));
      else {
        out(`${r.ok ? '✔ verified' : '✘ NOT verified'}: ${name} ${date} at ${r.location}`);
        if (!r.tables.length) out('  no backup of that date found');
        for (const t of r.tables) {
          const problems = [
            ...t.missing.map((n) => `missing ${n}`),
            ...t.extra.map((n) => `extra ${n}`),
            ...t.size_mismatches.map((m) => `${m.name}: size ${m.actual}, manifest ${m.expected}`),
            ...t.checksum_mismatches.map((m) => `${m.name}: sha256 ${m.actual.slice(0, 12)}…, manifest ${m.expected.slice(0, 12)}…`),
          ];
          out(`  ${t.ok ? '✔' : '✘'} ${t.table}: ${t.files} file(s)${t.row_count !== undefined ? `, ${t.row_count} rows` : ''}${problems.length ? ` — ${problems.join('; ')}` : ''}`);
        }
        out(`  Web UI: ${url}`);
      }
      return r.ok ? 0 : 1;
    }, (config) => checkBackup(config, name));
  });

  addConfigOption(
    backup
      .command('restore <backup>')
      .description('load a backup into a (scratch) dataset and compare row counts with the manifests')
      .requiredOption('--date <YYYY-MM-DD>', 'the backup to restore')
      .requiredOption('--to-dataset <dataset>', 'where the tables are (re)created')
      .option('--tables <a,b,...>', 'only these tables')
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: { config?: string; date: string; toDataset: string; tables?: string; json?: boolean }) => {
    const date = optionDate(opts.date, '--date');
    const tables = tablesOption(opts.tables);
    if (!/^[A-Za-z0-9_]{1,1024}$/.test(opts.toDataset)) fail('--to-dataset: must be a BigQuery dataset id (letters, digits, _)', EXIT_REFUSED);
    await withClient(opts, async (client, config) => {
      const { configuredBackups, startBackupRestore } = backupStarter();
      if (configuredBackups(config)[name]?.dataset === opts.toDataset) fail(`--to-dataset: ${opts.toDataset} is the backed-up dataset itself; restore into a scratch dataset`, EXIT_REFUSED);
      const handle = await startBackupRestore(client, config, { backup: name, date, to_dataset: opts.toDataset, ...(tables ? { tables } : {}) });
      const url = notify().runUrl(config, handle.workflowId);
      const r = await failed(handle.result(), `restore ${name} ${date}`, url, opts.json);
      if (!r) return 1;
      if (opts.json) out(JSON.stringify({ ...r, url }, null, 2));
      else {
        out(`${r.ok ? '✔ restored' : '✘ restore does not match'}: ${name} ${date} → ${r.to_dataset}`);
        for (const t of r.tables) out(`  ${t.match ? '✔' : '✘'} ${t.to}: ${t.rows_restored} rows (manifest ${t.rows_manifest}), loaded as ${t.load_format}`);
        out(`  Web UI: ${url}`);
      }
      return r.ok ? 0 : 1;
    }, (config) => checkBackup(config, name));
  });
}
