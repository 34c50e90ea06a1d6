/**
 * The backup's interfaces against the real stack and a real `bq-sftp worker` process: the CLI
 * (`backup run|list|verify|restore`), HTTP `POST /sync` and `/sync/{dataset}`, `schedules sync`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';
import { runCli } from '../../src/cli/main';
import { clientFor } from '../../src/cli/config-option';
import { createApi } from '../../src/http/server';
import { syncSchedules } from '../../src/export/schedules/sync';
import { backupScheduleId } from '../../src/backup/schedules';
import { BACKUP_DEMO_ROWS } from '../../src/stack/seed-backup';
import { uniqueId } from '../helpers/stack';
import { BACKUP_DEMO_DATASET, backupTestConfig } from './helpers';

const bin = path.join(repoRoot, 'bin/bq-sftp.js');
async function waitForValue<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}

/** The CLI in this process, stderr captured. */
async function cliHere(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const status = await runCli(args);
    process.exitCode = undefined;
    return { status, stderr };
  } finally {
    process.stderr.write = write;
  }
}
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 480_000, env: { ...process.env, BQSFTP_LOG_LEVEL: 'WARN' } });

test('bq-sftp backup run|list|verify|restore, POST /sync, POST /sync/{dataset} and schedules sync', async () => {
  const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, tables: ['customers_intl'], schedule: { cron: '0 2 * * *', timezone: 'UTC', paused: true } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-backup-cli-'));
  const cfgPath = path.join(dir, 'config.json');
  // the parsed config lists the top-level sftp block as connection "default" too: a file keeps one
  const { default: _default, ...named } = config.connections.sftp;
  fs.writeFileSync(cfgPath, JSON.stringify({ ...config, connections: { ...config.connections, sftp: named } }));
  const worker = spawn(process.execPath, [bin, 'worker', '-c', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BQSFTP_LOG_LEVEL: 'WARN' } });
  let workerOut = '';
  worker.stdout.on('data', (d) => (workerOut += d));
  worker.stderr.on('data', (d) => (workerOut += d));
  const client = await clientFor(config);
  try {
    const run = cli(['backup', 'run', name, '--date', '2025-04-01', '--json', '-c', cfgPath]);
    assert.equal(run.status, 0, `${run.stderr}\n${workerOut}`);
    const answer = JSON.parse(run.stdout);
    assert.equal(answer.dataset, BACKUP_DEMO_DATASET);
    assert.equal(answer.success, 1);
    assert.equal(answer.errors, 0);
    assert.equal(answer.tables[0].table, 'customers_intl');
    assert.equal(answer.tables[0].rows, BACKUP_DEMO_ROWS.customers_intl);
    assert.match(answer.url, /\/namespaces\/default\/workflows\/backup-/);

    const list = cli(['backup', 'list', name, '--json', '-c', cfgPath]);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).tables, { customers_intl: ['2025-04-01'] });
    const configured = cli(['backup', 'list', '-c', cfgPath]);
    assert.match(configured.stdout, new RegExp(`${name}: .*${BACKUP_DEMO_DATASET}.*sftp:default.*schedule 0 2 \\* \\* \\* UTC \\(paused\\)`));

    const verify = cli(['backup', 'verify', name, '--date', '2025-04-01', '-c', cfgPath]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /✔ verified/);
    assert.match(verify.stdout, /✔ customers_intl: 1 file\(s\), 40 rows/);

    const scratch = uniqueId('cli_restore').replace(/-/g, '_');
    const restore = cli(['backup', 'restore', name, '--date', '2025-04-01', '--to-dataset', scratch, '--json', '-c', cfgPath]);
    assert.equal(restore.status, 0, restore.stderr);
    assert.deepEqual(JSON.parse(restore.stdout).tables.map((t: { rows_restored: number }) => t.rows_restored), [BACKUP_DEMO_ROWS.customers_intl]);

    // bad input: exit 2 naming the argument, before anything talks to Temporal (in this process: no start-up cost)
    const unknown = await cliHere(['backup', 'run', 'nope', '-c', cfgPath]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, new RegExp(`<backup>: unknown backup "nope" \\(configured: ${name}\\)`));
    const badDate = await cliHere(['backup', 'verify', name, '--date', '2025-13-01', '-c', cfgPath]);
    assert.equal(badDate.status, 2);
    assert.match(badDate.stderr, /--date/);
    const badTables = await cliHere(['backup', 'run', name, '--tables', 'a;drop', '-c', cfgPath]);
    assert.equal(badTables.status, 2);
    assert.match(badTables.stderr, /--tables: "a;drop"/);
    const self = await cliHere(['backup', 'restore', name, '--date', '2025-04-01', '--to-dataset', BACKUP_DEMO_DATASET, '-c', cfgPath]);
    assert.equal(self.status, 2);
    assert.match(self.stderr, /--to-dataset: .*scratch/);

    // HTTP: the seed's bodies and answers, as durable runs
    const api = createApi({ config, client });
    const json = { 'content-type': 'application/json' };
    const sync = await api.handle('POST', '/sync', json, JSON.stringify({ dataset: BACKUP_DEMO_DATASET, tables: 'customers_intl,orders', date: '2025-04-02' }));
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const body = sync.body as { dataset: string; success: number; errors: number; tables: { table: string }[] };
    assert.deepEqual([body.dataset, body.success, body.errors, body.tables.map((t) => t.table)], [BACKUP_DEMO_DATASET, 2, 0, ['customers_intl', 'orders']]);
    const byPath = await api.handle('POST', `/sync/${BACKUP_DEMO_DATASET}`, json, JSON.stringify({ tables: ['orders'], date: '2025-04-02' }));
    assert.equal(byPath.status, 200, JSON.stringify(byPath.body));
    assert.equal((byPath.body as { success: number }).success, 1);
    const noBody = await api.handle('POST', `/sync/${BACKUP_DEMO_DATASET}`, {}, '');
    assert.equal(noBody.status, 200, JSON.stringify(noBody.body)); // the seed's body is optional: the backup's own tables
    assert.deepEqual((noBody.body as { tables: { table: string }[] }).tables.map((t) => t.table), ['customers_intl']);
    assert.equal((await api.handle('POST', '/sync/not_backed_up', json, '{}')).status, 404);
    const badBody = await api.handle('POST', '/sync', json, JSON.stringify({ dataset: BACKUP_DEMO_DATASET, tables: 'x;y' }));
    assert.equal(badBody.status, 400);
    assert.match((badBody.body as { message: string }).message, /body\/tables/);
    assert.match(((await api.handle('POST', '/sync', json, '{}')).body as { message: string }).message, /body\/dataset: required/);
    assert.equal((await api.handle('GET', '/sync', {}, '')).status, 405);
    const doc = (await api.handle('GET', '/openapi.json', {}, '')).body as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/sync'] && doc.paths['/sync/{dataset}'], 'the OpenAPI document lists /sync');

    // schedules sync: one schedule per backup that has one, running BackupWorkflow
    const plan = await syncSchedules(client, config, { dryRun: true });
    const id = backupScheduleId(config.temporal.task_queue, name);
    assert.ok(plan.create.includes(id), JSON.stringify(plan));
    await syncSchedules(client, config);
    const described = await client.schedule.getHandle(id).describe();
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal((described.action as { workflowType: string }).workflowType, 'BackupWorkflow');
    const spec = described.spec as { calendars?: unknown[]; cronExpressions?: unknown[] };
    assert.ok((spec.calendars?.length ?? 0) + (spec.cronExpressions?.length ?? 0) > 0, JSON.stringify(described.spec));
    assert.equal(described.state.paused, true);
    // a scheduled run's logical date is its scheduled day (in the schedule's time zone)
    await client.schedule.getHandle(id).trigger();
    const started = await waitForValue(async () => (await client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId);
    const scheduledRun = await client.workflow.getHandle(started).result();
    assert.equal(scheduledRun.date, new Date().toISOString().slice(0, 10));
    assert.equal(scheduledRun.success, 1);
    await client.schedule.getHandle(id).delete();
  } finally {
    await client.connection.close();
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
  }
});
