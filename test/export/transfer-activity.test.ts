import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { Storage } from '@google-cloud/storage';
import { createTransferFiles, type TransferProgress, type TransferSummary } from '../../src/export/transfer-files';
import { createVerifySync, type VerifyResult } from '../../src/export/verify-sync';
import { buildActivityDeps } from '../../src/activities/deps';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, localSftpPath, mkdirLocal, storage } from '../helpers/export';
import { sha256, stack } from '../helpers/stack';

const info = stack();
const DATE = '2025-01-08';

async function seedObjects(name: string, files: Record<string, Buffer>): Promise<string> {
  const bucket = storage().bucket(info.gcs.bucket);
  await Promise.all(Object.entries(files).map(([f, data]) => bucket.file(`${name}/20250108/${f}`).save(data, { resumable: false })));
  return `gs://${info.gcs.bucket}/${name}/20250108/`;
}

function setup(name: string) {
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F' } } });
  const deps = buildActivityDeps(config);
  return { config, deps, folder: config.sftp!.directory };
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));

test('transferFiles moves several files and resumes from heartbeat details, skipping files already published', async () => {
  const name = exportName('resume');
  const { deps, folder } = setup(name);
  const files = { 'F_20250108-000000000000.csv': bytes(100_000, 1), 'F_20250108-000000000001.csv': bytes(70_001, 2), 'F_20250108-000000000002.csv': bytes(3, 3) };
  const gcsPath = await seedObjects(name, files);
  try {
    // an earlier attempt published file 0 (same size, recognisable bytes) and heartbeated it
    mkdirLocal(folder);
    const marker = Buffer.alloc(100_000, 7);
    fs.writeFileSync(localSftpPath(`${folder}/F_20250108-000000000000.csv`), marker);
    const details: TransferProgress = { done: { 'F_20250108-000000000000.csv': 100_000 }, files_total: 3, bytes_total: 170_004, bytes_done: 100_000 };
    const env = new MockActivityEnvironment({ heartbeatDetails: details, attempt: 2 });
    const beats: TransferProgress[] = [];
    env.on('heartbeat', (d: TransferProgress) => beats.push(structuredClone(d)));
    const summary = (await env.run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;

    assert.deepEqual(summary.files_skipped, ['F_20250108-000000000000.csv']);
    assert.equal(summary.files_transferred, 2);
    assert.ok(fs.readFileSync(localSftpPath(`${folder}/F_20250108-000000000000.csv`)).equals(marker), 'the done file was not sent again');
    for (const f of ['F_20250108-000000000001.csv', 'F_20250108-000000000002.csv']) {
      assert.equal(sha256(fs.readFileSync(localSftpPath(`${folder}/${f}`))), sha256(files[f as keyof typeof files]));
    }
    assert.deepEqual(Object.keys(beats.at(-1)!.done).sort(), Object.keys(files).sort(), 'the last heartbeat lists every finished file');
    assert.deepEqual(listLocal(folder), Object.keys(files).sort());
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('published files carry the object\'s update time; a retry without heartbeat details skips exactly those (size + mtime)', async () => {
  const name = exportName('quick');
  const { deps, folder } = setup(name);
  const files = { 'F_20250108-000000000000.csv': bytes(50_000, 4), 'F_20250108-000000000001.csv': bytes(60_000, 5) };
  const gcsPath = await seedObjects(name, files);
  try {
    const first = (await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.equal(first.files_transferred, 2);
    for (const f of Object.keys(files)) {
      const [meta] = await storage().bucket(info.gcs.bucket).file(`${name}/20250108/${f}`).getMetadata();
      const mtime = fs.statSync(localSftpPath(`${folder}/${f}`)).mtimeMs;
      assert.equal(Math.floor(mtime / 1000), Math.floor(Date.parse(String(meta.updated)) / 1000), `${f} has the object's update time`);
    }
    // file 1 changed on the server under the same size: its mtime no longer matches, so it is sent again
    const changed = localSftpPath(`${folder}/F_20250108-000000000001.csv`);
    fs.writeFileSync(changed, Buffer.alloc(60_000, 9));
    fs.utimesSync(changed, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    const inode0 = fs.statSync(localSftpPath(`${folder}/F_20250108-000000000000.csv`)).ino;

    const retry = (await new MockActivityEnvironment({ attempt: 2 }).run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.deepEqual(retry.files_skipped, ['F_20250108-000000000000.csv']);
    assert.equal(retry.files_transferred, 1);
    assert.equal(fs.statSync(localSftpPath(`${folder}/F_20250108-000000000000.csv`)).ino, inode0, 'the unchanged file was not rewritten');
    assert.equal(sha256(fs.readFileSync(changed)), sha256(files['F_20250108-000000000001.csv']));
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('a GCS object with a control character in its name is refused and nothing is written', async () => {
  const name = exportName('ctrl');
  const { deps, folder } = setup(name);
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': bytes(10, 1), 'bad\u0001name.csv': bytes(10, 2) });
  try {
    const err = await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'UnsafeObjectName');
    assert.equal(err.nonRetryable, true);
    assert.deepEqual(listLocal(folder), []);
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('objects named ../evil or /abs are refused before anything is written (storage faked at the seam)', async () => {
  // fake-gcs-server normalises such names on write, real Cloud Storage does not: fake the listing
  for (const evil of ['../evil', '/abs', 'sub/../../x', 'nul\u0000.csv']) {
    const name = exportName('evil');
    const { deps, folder } = setup(name);
    const fakeStorage = {
      bucket: () => ({
        getFiles: async () => [[{ name: `${name}/20250108/${evil}`, metadata: { size: '1' } }]],
        file: () => {
          throw new Error('must not read any object');
        },
      }),
    } as unknown as Storage;
    try {
      const err = await new MockActivityEnvironment()
        .run(createTransferFiles({ ...deps, storage: fakeStorage }), { exportName: name, date: DATE, gcsPath: `gs://${info.gcs.bucket}/${name}/20250108/` })
        .catch((e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure, `refused ${JSON.stringify(evil)}`);
      assert.equal(err.type, 'UnsafeObjectName');
      assert.deepEqual(listLocal(folder), []);
      assert.ok(!fs.existsSync(localSftpPath('/upload/evil')) && !fs.existsSync(localSftpPath('/evil')));
    } finally {
      await deps.sftpPool.closeAll();
    }
  }
});

test('a download that stalls without error or end is aborted as TransferStalled (retryable), naming Cloud Storage; nothing is left', async () => {
  // what @google-cloud/storage's read stream does when the server dies mid-body (seen with fake-gcs-server)
  const name = exportName('stall');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F' } }, transfer: { stall_timeout_ms: 1000 } });
  const deps = buildActivityDeps(config);
  const folder = config.sftp!.directory;
  const stalling = () => {
    let sent = false;
    return new Readable({
      read() {
        if (!sent) this.push(Buffer.alloc(100_000, 1));
        sent = true; // then never another byte, error or end
      },
    });
  };
  const fakeStorage = {
    bucket: () => ({
      getFiles: async () => [[{ name: `${name}/20250108/F_20250108-000000000000.csv`, metadata: { size: '500000' } }]],
      file: () => ({ createReadStream: stalling }),
    }),
  } as unknown as Storage;
  try {
    const err = await new MockActivityEnvironment()
      .run(createTransferFiles({ ...deps, storage: fakeStorage }), { exportName: name, date: DATE, gcsPath: `gs://${info.gcs.bucket}/${name}/20250108/` })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'TransferStalled');
    assert.notEqual(err.nonRetryable, true);
    assert.match(err.message, /^Cloud Storage sent no data/);
    assert.deepEqual(listLocal(folder), [], 'no .partial and no half file');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('verifySync reports missing, extra and size-mismatched files, and checksum mismatches on request', async () => {
  const name = exportName('verify');
  const { deps, folder } = setup(name);
  const files = { 'F_20250108-000000000000.csv': bytes(5000, 1), 'F_20250108-000000000001.csv': bytes(6000, 2), 'F_20250108-000000000002.csv': bytes(7000, 3) };
  const gcsPath = await seedObjects(name, files);
  try {
    await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath });
    const verify = async (checksums = false) =>
      (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath, checksums })) as VerifyResult;
    const clean = await verify(true);
    assert.equal(clean.in_sync, true);
    assert.deepEqual(clean.sftp_files, Object.keys(files));

    fs.rmSync(localSftpPath(`${folder}/F_20250108-000000000000.csv`));
    fs.appendFileSync(localSftpPath(`${folder}/F_20250108-000000000001.csv`), 'x');
    const f2 = localSftpPath(`${folder}/F_20250108-000000000002.csv`);
    const flipped = fs.readFileSync(f2);
    flipped[10] ^= 0xff;
    fs.writeFileSync(f2, flipped);
    fs.writeFileSync(localSftpPath(`${folder}/F_20250108-000000000009.csv`), 'stale');
    fs.writeFileSync(localSftpPath(`${folder}/other-file.txt`), 'not ours');

    const dirty = await verify(true);
    assert.equal(dirty.in_sync, false);
    assert.deepEqual(dirty.missing_on_sftp, ['F_20250108-000000000000.csv']);
    assert.deepEqual(dirty.extra_on_sftp, ['F_20250108-000000000009.csv']);
    assert.deepEqual(dirty.size_mismatches, [{ name: 'F_20250108-000000000001.csv', gcs_size: 6000, sftp_size: 6001 }]);
    assert.deepEqual(dirty.checksum_mismatches.map((m) => m.name), ['F_20250108-000000000002.csv']);
    const namesOnly = await verify(false);
    assert.deepEqual(namesOnly.checksum_mismatches, [], 'checksums only on request');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('cancelling transferFiles mid-file stops it and leaves no .partial and no half file', async () => {
  const name = exportName('cancel');
  const { deps, folder } = setup(name);
  const big = Buffer.alloc(160 * 1024 * 1024, 1);
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': big });
  try {
    const env = new MockActivityEnvironment();
    let moving = false;
    const partial = localSftpPath(`${folder}/F_20250108-000000000000.csv.partial`);
    // cancel as soon as the temp file has bytes on the server (bounded poll)
    const watcher = (async () => {
      for (let i = 0; i < 400 && !moving; i++) {
        if (fs.existsSync(partial) && fs.statSync(partial).size > 0) {
          moving = true;
          env.cancel();
        } else await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const err = await env.run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath }).catch((e: unknown) => e);
    await watcher;
    assert.ok(moving, 'cancelled while bytes were moving');
    assert.ok(err instanceof Error && /cancel/i.test(`${err.name} ${err.message}`), `rejected as cancelled: ${String(err)}`);
    assert.deepEqual(listLocal(folder), [], 'no .partial and no final file');
  } finally {
    await deps.sftpPool.closeAll();
  }
});
