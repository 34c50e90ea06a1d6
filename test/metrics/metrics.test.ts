/**
 * `bq-sftp worker --metrics-port`: a real worker process serving /metrics, real exports through
 * the stack, the page parsed as Prometheus text.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { repoRoot } from '../../src/stack/layout';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { clientFor } from '../../src/cli/config-option';
import { runExport, startExport } from '../../src/client';
import { testConfig } from '../helpers/config';
import { exportName } from '../helpers/export';
import { freePort } from '../helpers/ports';
import { stack } from '../helpers/stack';
import { parsePrometheusText, sample, type PromSample } from './prom-text';

const info = stack();
const good = exportName('metrics');
const bad = exportName('metrics-bad');
const config = testConfig({
  exports: {
    [good]: { query: `SELECT id, email FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`, file_prefix: 'Customer' },
    [bad]: { query: `SELECT * FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.no_such_table_metrics\`` },
  },
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-metrics-'));
const cfgPath = path.join(dir, 'config.json');
let worker: ChildProcess;
let workerOut = '';
let client: Client;
let metricsUrl = '';

async function scrape(): Promise<PromSample[]> {
  const res = await fetch(metricsUrl);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

before(async () => {
  fs.writeFileSync(cfgPath, JSON.stringify(config));
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = spawn(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'worker', '-c', cfgPath, '--metrics-port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BQSFTP_LOG_LEVEL: 'WARN' },
  });
  worker.stdout!.on('data', (d) => (workerOut += d));
  worker.stderr!.on('data', (d) => (workerOut += d));
  for (let i = 0; !workerOut.includes('polling task queue'); i++) {
    assert.ok(worker.exitCode === null && i < 2400, `the worker did not start:\n${workerOut}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  client = await clientFor(config);
});

after(async () => {
  await client?.connection.close();
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('after an export /metrics parses as Prometheus text; bytes and files equal what the export moved; one succeeded run', async () => {
  const result = await runExport(client, { exportName: good, date: DEMO_DATE, taskQueue: config.temporal.task_queue });
  assert.ok(result.transfer.total_bytes > 0);
  const samples = await scrape();
  const l = { family: 'export', job: good, connection: 'default' };
  assert.equal(sample(samples, 'bqsftp_transfer_bytes_total', l), result.transfer.total_bytes);
  assert.equal(sample(samples, 'bqsftp_transfer_files_total', l), result.transfer.files_transferred);
  assert.equal(sample(samples, 'bqsftp_transfer_duration_seconds_count', l), 1);
  assert.equal(sample(samples, 'bqsftp_runs_total', { family: 'export', workflow: 'ExportWorkflow', job: good, status: 'succeeded' }), 1);
  assert.ok(sample(samples, 'bqsftp_run_last_success_timestamp_seconds', { family: 'export', workflow: 'ExportWorkflow', job: good })! > 1.7e9);
  // the pool per connection: the transfer's connection is idle in the pool now
  assert.ok(sample(samples, 'bqsftp_sftp_pool_connections', { connection: 'default', state: 'idle' })! >= 1);
  assert.equal(sample(samples, 'bqsftp_sftp_pool_connections', { connection: 'default', state: 'in_use' }), 0);
  const build = samples.find((s) => s.name === 'bqsftp_build_info');
  assert.match(build!.labels.build_id, /^\d+\.\d+\.\d+\+[0-9a-f]{16}$/);
  // label values are names: never a path or a date
  for (const s of samples.filter((x) => x.name.startsWith('bqsftp_'))) {
    for (const [k, v] of Object.entries(s.labels)) {
      assert.ok(!v.includes('/') && !/\d{4}-\d{2}-\d{2}/.test(v) || k === 'build_id', `${s.name}{${k}="${v}"} is not a bounded name`);
    }
  }
});

test('a failed run increments the failure counter by exactly one', async () => {
  const before = sample(await scrape(), 'bqsftp_runs_total', { family: 'export', workflow: 'ExportWorkflow', job: bad, status: 'failed' }) ?? 0;
  const handle = await startExport(client, { exportName: bad, date: DEMO_DATE, taskQueue: config.temporal.task_queue, notifyOnFailure: false });
  const err = await handle.result().catch((e: unknown) => e);
  assert.ok(err instanceof WorkflowFailedError);
  const samples = await scrape();
  assert.equal(sample(samples, 'bqsftp_runs_total', { family: 'export', workflow: 'ExportWorkflow', job: bad, status: 'failed' }), before + 1);
  assert.equal(sample(samples, 'bqsftp_runs_total', { family: 'export', workflow: 'ExportWorkflow', job: bad, status: 'succeeded' }), undefined);
  const failures = samples.filter((s) => s.name === 'bqsftp_activity_failures_total' && s.labels.activity === 'bqExport');
  assert.ok(failures.length > 0 && failures.every((s) => /^BigQuery/.test(s.labels.error_type)), JSON.stringify(failures));
  assert.equal(sample(samples, 'bqsftp_runs_total', { family: 'export', workflow: 'ExportWorkflow', job: good, status: 'succeeded' }), 1, 'the earlier run is still counted once');
});

test("the Temporal SDK's own worker metrics are on the same page", async () => {
  const samples = await scrape();
  assert.equal(sample(samples, 'bqsftp_sdk_metrics_up', {}), 1);
  const names = new Set(samples.map((s) => s.name));
  assert.ok([...names].some((n) => n.startsWith('temporal_worker_task_slots_available')), `no task-slot metric among: ${[...names].filter((n) => n.startsWith('temporal_')).join(', ')}`);
  assert.ok([...names].some((n) => /^temporal_.*(poll|schedule_to_start)/.test(n)), 'no poll / schedule-to-start latency metric');
  const slots = samples.filter((s) => s.name === 'temporal_worker_task_slots_available' && s.labels.task_queue === config.temporal.task_queue);
  assert.ok(slots.length > 0, 'the SDK metrics are labelled with our task queue');
});

test('the metrics port is refused with a clear line when it is taken', async () => {
  const port = Number(new URL(metricsUrl).port);
  const second = spawn(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'worker', '-c', cfgPath, '--metrics-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  second.stderr!.on('data', (d) => (err += d));
  const code = await new Promise((r) => second.once('exit', r));
  assert.equal(code, 1);
  assert.match(err, new RegExp(`metrics port 0\\.0\\.0\\.0:${port} is in use`));
});
