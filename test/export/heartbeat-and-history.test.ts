// Issue 19 items 4 and 5: the transfer and the verification heartbeat through every long step
// (checked on the Temporal server, with a real worker: MockActivityEnvironment enforces no
// heartbeat timeout), verification can be cancelled mid-file, and results carry counts and a
// capped sample of names instead of every name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transform, type Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Storage } from '@google-cloud/storage';
import { TransferWorkflow, VerifyWorkflow } from '../../src/export/api-workflows';
import { createTransferFiles, type TransferSummary } from '../../src/export/transfer-files';
import { createVerifySync, type VerifyResult } from '../../src/export/verify-sync';
import { buildActivityDeps } from '../../src/activities/deps';
import type { SftpPool, SftpSession } from '../../src/sftp';
import { testConfig } from '../helpers/config';
import { exportName, gcsBytes, storage, withWorker } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();
const DATE = '2025-01-08';
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));

async function seedObjects(name: string, files: Record<string, Buffer>): Promise<string> {
  const bucket = storage().bucket(info.gcs.bucket);
  const entries = Object.entries(files);
  for (let i = 0; i < entries.length; i += 20) {
    await Promise.all(entries.slice(i, i + 20).map(([f, data]) => bucket.file(`${name}/20250108/${f}`).save(data, { resumable: false })));
  }
  return `gs://${info.gcs.bucket}/${name}/20250108/`;
}

/** The real storage, but its object listing takes `ms` (a bucket with 100,000 objects). */
function slowListing(ms: number, state: { listing: boolean }): Storage {
  const real = storage();
  return {
    bucket: (name: string) => {
      const b = real.bucket(name);
      return Object.assign(Object.create(b), {
        getFiles: async (...args: Parameters<typeof b.getFiles>) => {
          state.listing = true;
          await new Promise((r) => setTimeout(r, ms));
          try {
            return await b.getFiles(...args);
          } finally {
            state.listing = false;
          }
        },
      });
    },
  } as unknown as Storage;
}

/** The real pool, but every file read from SFTP delivers one chunk per `ms` (a very large file). */
function slowReads(pool: SftpPool, ms: number, state: { reading: boolean; chunks: number }): SftpPool {
  const slowSession = (s: SftpSession) =>
    new Proxy(s, {
      get(target, key) {
        if (key === 'createReadStream') {
          return (p: string) => {
            state.reading = true;
            const src = target.createReadStream(p) as Readable;
            const slow = new Transform({
              highWaterMark: 1,
              transform(chunk, _enc, cb) {
                state.chunks++;
                setTimeout(() => cb(null, chunk), ms);
              },
              flush(cb) {
                state.reading = false;
                cb();
              },
            });
            src.on('error', (e) => slow.destroy(e));
            return src.pipe(slow);
          };
        }
        const v = (target as unknown as Record<PropertyKey, unknown>)[key];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return new Proxy(pool, {
    get(target, key) {
      if (key === 'withSession') {
        return (endpoint: Parameters<SftpPool['withSession']>[0], fn: (s: SftpSession) => Promise<unknown>) => target.withSession(endpoint, (s) => fn(slowSession(s)));
      }
      const v = (target as unknown as Record<PropertyKey, unknown>)[key];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** True once the server has a heartbeat of the workflow's pending activity while `busy()` holds. */
async function heartbeatSeenWhile(client: Client, workflowId: string, busy: () => boolean, started: () => boolean): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name !== 'RUNNING') return false;
    const beat = d.raw.pendingActivities?.[0]?.lastHeartbeatTime;
    if (started() && !busy()) return false; // the long step ended before any heartbeat reached the server
    if (beat && busy()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('transferFiles heartbeats while the GCS listing is still running (real worker)', async () => {
  const name = exportName('hblist');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F' } }, transfer: { heartbeat_every_ms: 500 } });
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': bytes(1000, 1) });
  const state = { listing: false };
  let listed = false;
  const slow = slowListing(5000, state);
  await withWorker(
    config,
    async (client) => {
      const workflowId = uniqueId('hb-transfer');
      const handle = await client.workflow.start(TransferWorkflow, { taskQueue: config.temporal.task_queue, workflowId, args: [{ exportName: name, date: DATE, gcsPath }] });
      const seen = await heartbeatSeenWhile(client, workflowId, () => state.listing, () => (listed ||= state.listing));
      assert.ok(seen, 'a heartbeat reached the server while the listing ran');
      const r = await handle.result();
      assert.equal(r.files_count, 1);
    },
    { deps: { storage: slow } },
  );
});

test('verifySync heartbeats while it hashes one large file (real worker)', async () => {
  const name = exportName('hbhash');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F', checksums: true } }, transfer: { heartbeat_every_ms: 500 } });
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': bytes(600_000, 1) });
  const deps = buildActivityDeps(config);
  const state = { reading: false, chunks: 0 };
  try {
    await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath });
    await withWorker(
      config,
      async (client) => {
        const workflowId = uniqueId('hb-verify');
        const handle = await client.workflow.start(VerifyWorkflow, { taskQueue: config.temporal.task_queue, workflowId, args: [{ exportName: name, date: DATE, gcsPath }] });
        const seen = await heartbeatSeenWhile(client, workflowId, () => state.reading, () => state.chunks > 0);
        assert.ok(seen, 'a heartbeat reached the server while the file was hashed');
        const r = await handle.result();
        assert.equal(r.in_sync, true);
        assert.equal(r.checked_checksums, true);
      },
      { deps: { sftpPool: slowReads(deps.sftpPool, 250, state) } },
    );
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('cancelling verifySync while it hashes a file stops the read mid-file', async () => {
  const name = exportName('vcancel');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F', checksums: true } } });
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': bytes(600_000, 2) });
  const deps = buildActivityDeps(config);
  const state = { reading: false, chunks: 0 };
  try {
    await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath });
    const env = new MockActivityEnvironment();
    const watcher = (async () => {
      for (let i = 0; i < 200 && state.chunks < 2; i++) await new Promise((r) => setTimeout(r, 50));
      env.cancel();
    })();
    const err = await env
      .run(createVerifySync({ ...deps, sftpPool: slowReads(deps.sftpPool, 500, state) }), { exportName: name, date: DATE, gcsPath })
      .then((r) => r, (e: unknown) => e);
    await watcher;
    assert.ok(err instanceof CancelledFailure, `cancelled mid-file, not ${JSON.stringify(err)}`);
    assert.ok(state.chunks < 8, `stopped after ${state.chunks} chunks`);
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('results carry counts and at most 100 names per list; the full lists stay reachable', async () => {
  const name = exportName('many');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F', checksums: true } } });
  const files = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`F_20250108-${String(i).padStart(12, '0')}.csv`, bytes(10 + i, i)]));
  const gcsPath = await seedObjects(name, files);
  const deps = buildActivityDeps(config);
  try {
    const t = (await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.equal(t.files_count, 130);
    assert.equal(t.files.length, 100);
    assert.equal(t.files_transferred, 130);
    assert.equal(t.truncated, true);
    assert.equal(t.full_list, gcsPath, 'the objects under the GCS prefix are the full list');
    assert.equal(Object.keys(t.checksums!).length, 100);
    assert.ok(JSON.stringify(t).length < 20_000);

    const v = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath })) as VerifyResult;
    assert.equal(v.in_sync, true);
    assert.equal(v.counts.gcs_files, 130);
    assert.equal(v.counts.sftp_files, 130);
    assert.equal(v.gcs_files.length, 100);
    assert.equal(v.truncated, true);
    const report = JSON.parse((await gcsBytes(v.full_report!.replace(`gs://${info.gcs.bucket}/`, ''))).toString('utf8')) as VerifyResult;
    assert.deepEqual(report.gcs_files, Object.keys(files));
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('a small run keeps every name and is not marked truncated', async () => {
  const name = exportName('few');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F', manifest: true } } });
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': bytes(10, 1) });
  const deps = buildActivityDeps(config);
  try {
    const t = (await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.deepEqual(t.files, ['F_20250108-000000000000.csv']);
    assert.equal(t.truncated, false);
    assert.equal(t.full_list, `sftp:${config.sftp!.directory}/F_20250108_MANIFEST.json`);
    const v = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath })) as VerifyResult;
    assert.equal(v.truncated, false);
    assert.equal(v.full_report, undefined);
  } finally {
    await deps.sftpPool.closeAll();
  }
});
