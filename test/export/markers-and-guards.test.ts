// Issue 19 item 8: the manifest and .done files, per-export checksums, the source guards before
// the rename, verify's size check and the GCS lifecycle rule under the fan-out — each on the real
// stack, each test with exactly one thing wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Storage } from '@google-cloud/storage';
import { createTransferFiles, type TransferSummary } from '../../src/export/transfer-files';
import { createVerifySync, type VerifyResult } from '../../src/export/verify-sync';
import { buildActivityDeps } from '../../src/activities/deps';
import { createActivities } from '../../src/activities';
import { createWorker } from '../../src/worker';
import { clientFor } from '../../src/cli/config-option';
import { startExport } from '../../src/starter';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { ensureExpiration } from '../../src/gcs/lifecycle';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, localSftpPath, storage } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();
const DATE = '2025-01-08';
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));
const md5hex = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

async function seedObjects(name: string, files: Record<string, Buffer>): Promise<string> {
  const bucket = storage().bucket(info.gcs.bucket);
  await Promise.all(Object.entries(files).map(([f, data]) => bucket.file(`${name}/20250108/${f}`).save(data, { resumable: false })));
  return `gs://${info.gcs.bucket}/${name}/20250108/`;
}

function setup(name: string, exp: Record<string, unknown> = {}) {
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F', ...exp } } });
  const deps = buildActivityDeps(config);
  return { config, deps, folder: config.sftp!.directory };
}

test('manifest + .done + checksums: the manifest lists every file with size and md5, .done is empty, both written; verify ignores them', async () => {
  const name = exportName('markers');
  const { deps, folder } = setup(name, { manifest: true, done_file: true, checksums: true });
  const files = { 'F_20250108-000000000000.csv': bytes(40_000, 1), 'F_20250108-000000000001.csv': bytes(123, 2) };
  const gcsPath = await seedObjects(name, files);
  try {
    const summary = (await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.deepEqual(listLocal(folder), ['F_20250108-000000000000.csv', 'F_20250108-000000000001.csv', 'F_20250108.done', 'F_20250108_MANIFEST.json']);
    const manifest = JSON.parse(fs.readFileSync(localSftpPath(`${folder}/F_20250108_MANIFEST.json`), 'utf8'));
    assert.equal(manifest.export, name);
    assert.equal(manifest.date, DATE);
    assert.deepEqual(
      manifest.files,
      Object.entries(files).map(([n, b]) => ({ name: n, size: b.length, md5: md5hex(b) })),
    );
    assert.equal(fs.statSync(localSftpPath(`${folder}/F_20250108.done`)).size, 0);
    assert.deepEqual(summary.checksums, Object.fromEntries(Object.entries(files).map(([n, b]) => [n, md5hex(b)])));
    const verify = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath })) as VerifyResult;
    assert.equal(verify.in_sync, true);
    assert.equal(verify.checked_checksums, true, 'the export\'s checksums setting is verify\'s default');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('without manifest/done_file/checksums: no markers and no checksums in the summary', async () => {
  const name = exportName('nomarkers');
  const { deps, folder } = setup(name);
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': bytes(10, 1) });
  try {
    const summary = (await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.deepEqual(listLocal(folder), ['F_20250108-000000000000.csv']);
    assert.equal(summary.checksums, undefined);
  } finally {
    await deps.sftpPool.closeAll();
  }
});

/** A storage whose listing says `size`/`md5` and whose download sends `body` and ends cleanly. */
function fakeStorage(name: string, meta: { size: number; md5?: string }, body: Buffer): Storage {
  return {
    bucket: () => ({
      getFiles: async () => [[{ name: `${name}/20250108/F_20250108-000000000000.csv`, metadata: { size: String(meta.size), md5Hash: meta.md5 } }]],
      file: () => ({ createReadStream: () => Readable.from([body]) }),
    }),
  } as unknown as Storage;
}

test('a download that ends cleanly but short: SourceSizeMismatch (retryable), nothing published, no temp file', async () => {
  const name = exportName('short');
  const { deps, folder } = setup(name);
  const body = bytes(1000, 3);
  try {
    const err = await new MockActivityEnvironment()
      .run(createTransferFiles({ ...deps, storage: fakeStorage(name, { size: 1001 }, body) }), { exportName: name, date: DATE, gcsPath: `gs://${info.gcs.bucket}/${name}/20250108/` })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'SourceSizeMismatch');
    assert.notEqual(err.nonRetryable, true);
    assert.match(err.message, /^Cloud Storage/);
    assert.deepEqual(listLocal(folder), [], 'nothing published and no .partial');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('bytes whose md5 differs from the object\'s (checksums on): SourceChecksumMismatch, nothing published, no temp file', async () => {
  const name = exportName('badmd5');
  const { deps, folder } = setup(name, { checksums: true });
  const body = bytes(1000, 3);
  const otherMd5 = crypto.createHash('md5').update('something else').digest('base64');
  try {
    const err = await new MockActivityEnvironment()
      .run(createTransferFiles({ ...deps, storage: fakeStorage(name, { size: 1000, md5: otherMd5 }, body) }), { exportName: name, date: DATE, gcsPath: `gs://${info.gcs.bucket}/${name}/20250108/` })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'SourceChecksumMismatch');
    assert.notEqual(err.nonRetryable, true);
    assert.deepEqual(listLocal(folder), [], 'nothing published and no .partial');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('verifySync: one file a byte longer on SFTP (and nothing else wrong) is not in sync', async () => {
  const name = exportName('longer');
  const { deps, folder } = setup(name);
  const files = { 'F_20250108-000000000000.csv': bytes(5000, 1), 'F_20250108-000000000001.csv': bytes(6000, 2) };
  const gcsPath = await seedObjects(name, files);
  try {
    await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath });
    fs.appendFileSync(localSftpPath(`${folder}/F_20250108-000000000001.csv`), 'x');
    const r = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath, checksums: false })) as VerifyResult;
    assert.deepEqual(r.missing_on_sftp, []);
    assert.deepEqual(r.extra_on_sftp, []);
    assert.deepEqual(r.checksum_mismatches, []);
    assert.deepEqual(r.size_mismatches, [{ name: 'F_20250108-000000000001.csv', gcs_size: 6000, sftp_size: 6001 }]);
    assert.equal(r.in_sync, false);
    assert.equal(r.status, 'failed');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

/**
 * A bucket's metadata as Cloud Storage keeps it: a metageneration bumped by every write, and
 * ifMetagenerationMatch answered with 412. fake-gcs-server neither stores lifecycle rules nor
 * checks preconditions, so this seam stands in for the real service.
 */
function metadataServer(onRead?: (state: { rules: unknown[]; metageneration: number }) => void) {
  const state = { rules: [] as unknown[], metageneration: 1 };
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const bucket = {
    getMetadata: async () => {
      await tick();
      const snapshot = [{ metageneration: String(state.metageneration), lifecycle: { rule: structuredClone(state.rules) } }];
      onRead?.(state);
      return snapshot;
    },
    setMetadata: async (m: { lifecycle: { rule: unknown[] } }, opts: { ifMetagenerationMatch?: number } = {}) => {
      await tick();
      if (opts.ifMetagenerationMatch !== undefined && opts.ifMetagenerationMatch !== state.metageneration) {
        throw Object.assign(new Error('412 Precondition Failed'), { code: 412 });
      }
      state.rules = m.lifecycle.rule;
      state.metageneration++;
      return [{}];
    },
  };
  return { state, storage: { bucket: () => bucket } as unknown as Storage };
}
const prefixesOf = (rules: unknown[]) => (rules as { condition: { matchesPrefix: string[] } }[]).map((r) => r.condition.matchesPrefix[0]).sort();

test('GCS lifecycle: the fan-out\'s exports each add their expiration rule at the same time; none is lost', async () => {
  const { state, storage: s } = metadataServer();
  const prefixes = Array.from({ length: 6 }, (_, i) => `exp_${i}/`);
  const bucketName = uniqueId('bucket');
  await Promise.all(prefixes.map((p) => ensureExpiration(s, bucketName, p, 7)));
  assert.deepEqual(prefixesOf(state.rules), prefixes);
});

test('GCS lifecycle: a rule another process writes between our read and our write is kept (412 → read again)', async () => {
  let interfered = false;
  const { state, storage: s } = metadataServer((st) => {
    if (interfered) return;
    interfered = true; // another worker's export writes its rule right after our first read
    st.rules = [...st.rules, { action: { type: 'Delete' }, condition: { age: 3, matchesPrefix: ['other/'] } }];
    st.metageneration++;
  });
  assert.equal(await ensureExpiration(s, uniqueId('bucket'), 'mine/', 7), true);
  assert.deepEqual(prefixesOf(state.rules), ['mine/', 'other/']);
});

test('ExportWorkflow: one file a byte longer on SFTP after the transfer: the run fails NotInSync naming the size mismatch', async () => {
  const name = exportName('notinsync');
  const config = testConfig({
    exports: { [name]: { query: `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`, file_prefix: 'C' } },
  });
  const folder = config.sftp!.directory;
  const deps = buildActivityDeps(config);
  const real = createActivities(deps);
  // the real activities, except that the transfer leaves one file a byte longer (the only fault)
  const activities = {
    ...real,
    transferFiles: async (input: Parameters<typeof real.transferFiles>[0]) => {
      const r = await real.transferFiles(input);
      fs.appendFileSync(localSftpPath(`${folder}/${r.files[0]}`), 'x');
      return r;
    },
  };
  const workflows = await createWorker({ config, role: 'workflows' });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const activityWorker = await Worker.create({ connection, taskQueue: config.temporal.task_queue, activities });
  const client = await clientFor(config);
  try {
    const err = await workflows.runUntil(
      activityWorker.runUntil(async () => (await startExport(client, config, { exportName: name, date: DEMO_DATE })).result().then(() => undefined, (e: unknown) => e)),
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'NotInSync');
    assert.match(err.cause.message, /size mismatches 1, checksum mismatches 0/);
    assert.match(err.cause.message, /missing \[\], extra \[\]/);
  } finally {
    await client.connection.close();
    await connection.close();
    await deps.sftpPool.closeAll();
  }
});
