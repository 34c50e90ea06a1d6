/**
 * Backup R1: the worker process is SIGKILLed while the big table's Parquet file (200,000 rows) is
 * streaming to SFTP; a new worker process starts and the run completes: the file at the
 * destination is byte-identical (sha256) to the staged one and to its manifest, no `.partial`
 * is left. The SFTP server is reached through a 20 ms RTT latency proxy (a partner across the
 * internet), so the stream lasts long enough to be interrupted.
 * R1b: killed while the worker reads the table with tabledata.list and writes Parquet: the retry
 * reads the table again (no extract job at all), one complete file, staging empty.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import type { Client } from '@temporalio/client';
import { clientFor } from '../../src/cli/config-option';
import { BackupWorkflow } from '../../src/backup/workflow';
import { backupWorkflowId, MANIFEST_NAME, stagingPrefix } from '../../src/backup/naming';
import type { BackupManifest } from '../../src/backup/activities';
import { BACKUP_DEMO_BIG_ROWS, BACKUP_DEMO_BIG_TABLE } from '../../src/stack/seed-backup';
import { startLatencyProxy } from '../../bench/latency-proxy';
import { localSftpPath, storage } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';
import { BACKUP_DEMO_DATASET, backupTestConfig, readParquet } from '../backup/helpers';
import { reportFigures, sleep, trials, waitFor } from './helpers/figures';
import { activityAttempts } from './helpers/transfer-fixture';
import { WorkerProcess } from './helpers/worker-process';

const TRIALS = trials(1);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-bk-r1-'));
let proxy: net.Server;
let client: Client;
const results: { completed: boolean; partialBytesAtKill: number; sha256Equal: boolean; partialsLeft: number; transferAttempts: number }[] = [];

before(async () => {
  proxy = await startLatencyProxy(stack().sftp.port, 10);
});

after(async () => {
  await client?.connection.close();
  await new Promise((r) => proxy?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
  reportFigures('Backup R1 worker SIGKILL while the big table streams to SFTP', {
    trials: results.length,
    completed: results.filter((r) => r.completed).length,
    sha256_equal: results.filter((r) => r.sha256Equal).length,
    partials_left: results.reduce((n, r) => n + r.partialsLeft, 0),
    partial_bytes_at_kill: results.map((r) => r.partialBytesAtKill),
    transfer_attempts: results.map((r) => r.transferAttempts),
  });
});

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`Backup R1 trial ${trial}/${TRIALS}: SIGKILL mid-stream, a new worker completes the backup`, async () => {
    const info = stack();
    const folder = `/upload/${uniqueId('bkr1')}`;
    const port = (proxy.address() as net.AddressInfo).port;
    const slow = {
      host: info.sftp.host,
      port,
      username: info.sftp.passwordUser.username,
      password: info.sftp.passwordUser.password,
      directory: folder,
      host_key: info.sftp.hostKeyFingerprint,
    };
    const { config, name } = backupTestConfig(
      { destination: { type: 'sftp', sftp: 'slow', directory: folder }, tables: [BACKUP_DEMO_BIG_TABLE], delete_staging: false },
      { transfer: { chunk_size: 8192, requests_in_flight: 2 }, connections: { sftp: { slow } } },
    );
    const { default: _default, ...named } = config.connections.sftp;
    const raw = { ...config, connections: { ...config.connections, sftp: named } };
    const configPath = path.join(tmp, `${name}.json`);
    fs.writeFileSync(configPath, JSON.stringify(raw), { mode: 0o600 });
    client ??= await clientFor(config);
    const logPath = path.join(tmp, `${name}.log`);
    const record = { completed: false, partialBytesAtKill: 0, sha256Equal: false, partialsLeft: -1, transferAttempts: 0 };
    results.push(record);

    const date = '2025-05-01';
    const dir = path.join(localSftpPath(folder), 'GCP/bigquery', BACKUP_DEMO_DATASET, BACKUP_DEMO_BIG_TABLE, date);
    const partial = path.join(dir, 'part-00000.parquet.partial');
    let worker = await WorkerProcess.start({ configPath, logPath, env: { BQSFTP_LOG_LEVEL: 'WARN' } });
    try {
      const handle = await client.workflow.start(BackupWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId: backupWorkflowId(name, date),
        args: [{ backup: name, date }],
      });
      // the extract and the worker-side Parquet writer come first; then the file streams
      await waitFor('the Parquet file streaming to SFTP', () => (fs.existsSync(partial) && fs.statSync(partial).size > 64 * 1024) || undefined, 240_000);
      await sleep(Math.floor(Math.random() * 800));
      record.partialBytesAtKill = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
      await worker.kill();

      worker = await WorkerProcess.start({ configPath, logPath, env: { BQSFTP_LOG_LEVEL: 'WARN' } });
      const result = await handle.result();
      record.completed = true;
      assert.equal(result.success, 1, JSON.stringify(result));
      record.transferAttempts = (await activityAttempts(handle)).backupTransferTable ?? 0;

      const names = fs.readdirSync(dir).sort();
      record.partialsLeft = names.filter((n) => n.endsWith('.partial')).length;
      assert.deepEqual(names, [MANIFEST_NAME, 'part-00000.parquet'], 'no temp files at the destination');
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as BackupManifest;
      const bytes = fs.readFileSync(path.join(dir, 'part-00000.parquet'));
      const [staged] = await storage().bucket(info.gcs.bucket).file(`${stagingPrefix(name, date, BACKUP_DEMO_BIG_TABLE)}part-00000.parquet`).download();
      const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
      record.sha256Equal = sha(bytes) === sha(staged) && sha(bytes) === manifest.files[0].sha256;
      assert.equal(sha(bytes), sha(staged), 'the destination file equals the staged one');
      assert.equal(sha(bytes), manifest.files[0].sha256);
      assert.equal(manifest.row_count, BACKUP_DEMO_BIG_ROWS);
      assert.equal(readParquet([path.join(dir, 'part-00000.parquet')]).rows, BACKUP_DEMO_BIG_ROWS);
      if (record.partialBytesAtKill < bytes.length) assert.ok(record.transferAttempts >= 2, 'the killed attempt was retried');
    } finally {
      await worker.stop();
      await storage().bucket(info.gcs.bucket).deleteFiles({ prefix: stagingPrefix(name, date, BACKUP_DEMO_BIG_TABLE) }).catch(() => undefined);
      fs.rmSync(localSftpPath(folder), { recursive: true, force: true });
    }
  });
}

test('Backup R1b: SIGKILL while the worker reads the table (tabledata.list) and writes Parquet; the retry reads it again: right row count, staging clean, no extract job', async () => {
  const info = stack();
  const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, tables: [BACKUP_DEMO_BIG_TABLE] });
  const { default: _default, ...named } = config.connections.sftp;
  const configPath = path.join(tmp, `${name}.json`);
  fs.writeFileSync(configPath, JSON.stringify({ ...config, connections: { ...config.connections, sftp: named } }), { mode: 0o600 });
  client ??= await clientFor(config);
  const logPath = path.join(tmp, `${name}.log`);
  const date = '2025-05-02';
  const staging = stagingPrefix(name, date, BACKUP_DEMO_BIG_TABLE);
  let worker = await WorkerProcess.start({ configPath, logPath, env: { BQSFTP_LOG_LEVEL: 'WARN' } });
  try {
    const handle = await client.workflow.start(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, date), args: [{ backup: name, date }] });
    // the activity's heartbeats reach the server throttled (every 16 s): the kill is timed from its start instead.
    // On the emulator it reads the table ~7-10 s (one response after the emulator computed all rows), then writes ~1-2 s.
    const started = await waitFor('the worker running backupExtractTable', async () => {
      const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'backupExtractTable');
      const at = pending?.lastStartedTime?.seconds;
      return at ? Number(at) * 1000 + Math.floor((pending?.lastStartedTime?.nanos ?? 0) / 1e6) : undefined;
    }, 240_000);
    await sleep(Math.max(0, started + 1000 + Math.floor(Math.random() * 8000) - Date.now()));
    const msAfterStart = Date.now() - started;
    await worker.kill();
    const extractResult = (e: { activityTaskCompletedEventAttributes?: { result?: { payloads?: { data?: Uint8Array | null }[] | null } | null } | null }) =>
      Buffer.from(e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data ?? []).toString('utf8').includes('"row_source"');
    const finishedBeforeKill = ((await handle.fetchHistory()).events ?? []).some(extractResult);
    worker = await WorkerProcess.start({ configPath, logPath, env: { BQSFTP_LOG_LEVEL: 'WARN' } });
    const result = await handle.result();
    assert.equal(result.success, 1, JSON.stringify(result));
    assert.equal(result.tables[0].rows, BACKUP_DEMO_BIG_ROWS);
    const attempts = (await activityAttempts(handle)).backupExtractTable ?? 0;
    const events = (await handle.fetchHistory()).events ?? [];
    const extracted = events
      .map((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
      .filter((d): d is Uint8Array => Boolean(d))
      .map((d) => JSON.parse(Buffer.from(d).toString('utf8')) as { row_source?: string; job_ids?: string[]; row_count?: number })
      .find((x) => x.row_source !== undefined);
    reportFigures('Backup R1b worker SIGKILL while reading the table and writing Parquet', {
      ms_after_start_at_kill: msAfterStart,
      finished_before_kill: finishedBeforeKill,
      extract_attempts: attempts,
      row_source: extracted?.row_source,
      extract_jobs: extracted?.job_ids?.length,
    });
    if (!finishedBeforeKill) assert.ok(attempts >= 2, 'the killed attempt was retried');
    assert.equal(extracted?.row_source, 'tabledata.list');
    assert.deepEqual(extracted?.job_ids, [], 'no extract job, in any attempt');
    assert.equal(extracted?.row_count, BACKUP_DEMO_BIG_ROWS);
    const dir = path.join(localSftpPath(config.sftp!.directory), 'GCP/bigquery', BACKUP_DEMO_DATASET, BACKUP_DEMO_BIG_TABLE, date);
    assert.deepEqual(fs.readdirSync(dir).sort(), [MANIFEST_NAME, 'part-00000.parquet'], 'one complete file, nothing partial');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as BackupManifest;
    assert.equal(manifest.row_source, 'tabledata.list');
    assert.equal(readParquet([path.join(dir, 'part-00000.parquet')]).rows, BACKUP_DEMO_BIG_ROWS);
    assert.deepEqual((await storage().bucket(info.gcs.bucket).getFiles({ prefix: staging }))[0].length, 0, 'staging empty');
  } finally {
    await worker.stop();
  }
});
