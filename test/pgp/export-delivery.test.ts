/**
 * OpenPGP deliveries of an export against the real stack: transferFiles encrypts (and signs)
 * while streaming GCS → SFTP; GnuPG, in the partner's temporary GNUPGHOME, decrypts the SFTP file
 * to the GCS object's bytes and verifies our signature; verifySync checks what was recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createTransferFiles, type TransferProgress, type TransferSummary } from '../../src/export/transfer-files';
import { createVerifySync, type VerifyResult } from '../../src/export/verify-sync';
import { buildActivityDeps } from '../../src/activities/deps';
import { redactConfig } from '../../src/config';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, localSftpPath, mkdirLocal, storage } from '../helpers/export';
import { sha256, stack } from '../helpers/stack';
import { gpgParty, trust, validSigners } from './gpg';

const info = stack();
const DATE = '2025-01-08';
const us = gpgParty('us', { passphrase: 'sign-it' });
const partner = gpgParty('partner');
trust(partner, us);

async function seedObjects(name: string, files: Record<string, Buffer>): Promise<string> {
  const bucket = storage().bucket(info.gcs.bucket);
  await Promise.all(Object.entries(files).map(([f, data]) => bucket.file(`${name}/20250108/${f}`).save(data, { resumable: false })));
  return `gs://${info.gcs.bucket}/${name}/20250108/`;
}

function setup(name: string, pgp: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const config = testConfig({
    exports: {
      [name]: {
        query: 'SELECT 1',
        file_prefix: 'F',
        pgp: { recipients: [partner.publicArmored], signing_private_key: us.secretArmored, passphrase: us.passphrase, ...pgp },
        ...extra,
      },
    },
  });
  return { config, deps: buildActivityDeps(config), folder: config.sftp!.directory };
}

function decryptAsPartner(file: string): { plain: Buffer; signers: string[] } {
  const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], fs.readFileSync(file));
  assert.equal(r.status, 0, `gpg --decrypt ${file}: ${r.stderr}`);
  return { plain: r.stdout, signers: validSigners(r.stderr) };
}

test('an export with pgp on: the SFTP files decrypt with gpg to the GCS objects, gpg verifies our signature, manifest and verifySync use the recorded sizes and checksums', async () => {
  const name = exportName('pgp');
  const { config, deps, folder } = setup(name, {}, { checksums: true, manifest: true });
  const files = { 'F_20250108-000000000000.csv': crypto.randomBytes(1_500_000), 'F_20250108-000000000001.csv': Buffer.from('id,name\n1,a\n') };
  const gcsPath = await seedObjects(name, files);
  try {
    const summary = (await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.equal(summary.files_transferred, 2);
    assert.deepEqual(listLocal(folder), ['F_20250108-000000000000.csv.pgp', 'F_20250108-000000000001.csv.pgp', 'F_20250108_MANIFEST.json']);
    for (const [f, data] of Object.entries(files)) {
      const { plain, signers } = decryptAsPartner(localSftpPath(`${folder}/${f}.pgp`));
      assert.equal(sha256(plain), sha256(data), `${f}: gpg --decrypt gives the GCS object's bytes`);
      assert.deepEqual(signers, [us.fingerprint], `${f}: gpg accepts our signature`);
      const rec = summary.pgp!.files.find((x) => x.plaintext_name === f)!;
      assert.equal(rec.plaintext_size, data.length);
      assert.equal(rec.plaintext_sha256, sha256(data));
      assert.equal(rec.size, fs.statSync(localSftpPath(`${folder}/${f}.pgp`)).size);
      assert.equal(rec.sha256, sha256(fs.readFileSync(localSftpPath(`${folder}/${f}.pgp`))));
    }
    assert.equal(summary.pgp!.signer, us.fingerprint);
    assert.deepEqual(summary.pgp!.recipients, [partner.fingerprint]);
    assert.ok(!JSON.stringify(summary).includes('PRIVATE KEY') && !JSON.stringify(summary).includes(us.passphrase), 'no key material in the summary');
    const manifest = JSON.parse(fs.readFileSync(localSftpPath(`${folder}/F_20250108_MANIFEST.json`), 'utf8')) as { files: { name: string; size: number; plaintext: { size: number; sha256: string } }[] };
    assert.deepEqual(manifest.files.map((f) => [f.name, f.plaintext.size]), Object.entries(files).map(([f, d]) => [`${f}.pgp`, d.length]));

    const verify = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath })) as VerifyResult;
    assert.equal(verify.in_sync, true, JSON.stringify(verify));
    assert.equal(verify.checked_checksums, true);

    // same size, one byte changed on the server: only the checksum pass sees it
    const target = localSftpPath(`${folder}/F_20250108-000000000000.csv.pgp`);
    const bytes = fs.readFileSync(target);
    bytes[bytes.length - 100] ^= 0xff;
    fs.writeFileSync(target, bytes);
    const noSums = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath, checksums: false })) as VerifyResult;
    assert.equal(noSums.in_sync, true, 'names and sizes still match');
    const withSums = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath })) as VerifyResult;
    assert.equal(withSums.in_sync, false);
    assert.deepEqual(withSums.checksum_mismatches.map((m) => m.name), ['F_20250108-000000000000.csv.pgp']);

    // a file removed, a stray one added
    fs.rmSync(localSftpPath(`${folder}/F_20250108-000000000001.csv.pgp`));
    fs.writeFileSync(localSftpPath(`${folder}/F_20250108-000000000001.csv`), 'plaintext must not be here');
    const broken = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath, checksums: false })) as VerifyResult;
    assert.deepEqual(broken.missing_on_sftp, ['F_20250108-000000000001.csv.pgp']);
    assert.deepEqual(broken.extra_on_sftp, ['F_20250108-000000000001.csv']);
    assert.ok(!JSON.stringify(redactConfig(config)).includes(us.passphrase), 'the passphrase is redacted');
    assert.ok(!JSON.stringify(redactConfig(config)).includes('PRIVATE KEY BLOCK'), 'the signing key is redacted');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('armored with a custom suffix and no signing key: gpg decrypts it', async () => {
  const name = exportName('pgpasc');
  const { deps, folder } = setup(name, { armor: true, suffix: '.asc', signing_private_key: undefined, passphrase: undefined });
  const data = crypto.randomBytes(200_000);
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': data });
  try {
    await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath });
    assert.deepEqual(listLocal(folder), ['F_20250108-000000000000.csv.asc']);
    const file = localSftpPath(`${folder}/F_20250108-000000000000.csv.asc`);
    assert.match(fs.readFileSync(file, 'utf8').slice(0, 40), /^-----BEGIN PGP MESSAGE-----/);
    const { plain, signers } = decryptAsPartner(file);
    assert.ok(plain.equals(data));
    assert.deepEqual(signers, []);
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('an expired recipient key is a permanent config error naming the field; nothing is written', async () => {
  const old = gpgParty('expired', { fakedTime: '20200101T000000', expire: '1d' });
  const name = exportName('pgpexp');
  const { deps, folder } = setup(name, { recipients: [partner.publicArmored, old.publicArmored] });
  const gcsPath = await seedObjects(name, { 'F_20250108-000000000000.csv': Buffer.from('x') });
  try {
    const err = await new MockActivityEnvironment().run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'ConfigInvalid');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`exports\\.${name}\\.pgp\\.recipients\\[1\\]: the recipient key ${old.fingerprint}.*expired`));
    assert.deepEqual(listLocal(folder), []);
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('resume: a half-written temp file of a killed attempt is replaced, the finished file is skipped by its record, and both decrypt', async () => {
  const name = exportName('pgpres');
  const { deps, folder } = setup(name, {});
  const files = { 'F_20250108-000000000000.csv': crypto.randomBytes(300_000), 'F_20250108-000000000001.csv': crypto.randomBytes(400_000) };
  const gcsPath = await seedObjects(name, files);
  try {
    // attempt 1 publishes both; then file 1 is "interrupted": its final name gone, a truncated .partial left
    const env1 = new MockActivityEnvironment();
    const beats: TransferProgress[] = [];
    env1.on('heartbeat', (d: TransferProgress) => beats.push(structuredClone(d)));
    await env1.run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath });
    const f0 = localSftpPath(`${folder}/F_20250108-000000000000.csv.pgp`);
    const f1 = localSftpPath(`${folder}/F_20250108-000000000001.csv.pgp`);
    const inode0 = fs.statSync(f0).ino;
    const half = fs.readFileSync(f1).subarray(0, 150_000);
    fs.rmSync(f1);
    fs.writeFileSync(`${f1}.partial`, half);
    const last = beats.at(-1)!;
    const details: TransferProgress = { ...last, done: { 'F_20250108-000000000000.csv': files['F_20250108-000000000000.csv'].length }, pgp: { 'F_20250108-000000000000.csv': last.pgp!['F_20250108-000000000000.csv'] } };

    const summary = (await new MockActivityEnvironment({ heartbeatDetails: details, attempt: 2 }).run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.deepEqual(summary.files_skipped, ['F_20250108-000000000000.csv']);
    assert.equal(fs.statSync(f0).ino, inode0, 'the finished file was not sent again');
    assert.deepEqual(listLocal(folder), ['F_20250108-000000000000.csv.pgp', 'F_20250108-000000000001.csv.pgp'], 'no temp file left');
    for (const [f, data] of Object.entries(files)) assert.ok(decryptAsPartner(localSftpPath(`${folder}/${f}.pgp`)).plain.equals(data));
    assert.equal(summary.pgp!.files.length, 2, 'the skipped file keeps its record');
    const verify = (await new MockActivityEnvironment().run(createVerifySync(deps), { exportName: name, date: DATE, gcsPath, checksums: true })) as VerifyResult;
    assert.equal(verify.in_sync, true, JSON.stringify(verify));

    // a plain (unencrypted) file under the encrypted name with an unknown size is never taken as published
    fs.writeFileSync(f0, files['F_20250108-000000000000.csv']);
    fs.utimesSync(f0, new Date(), new Date(0));
    const again = (await new MockActivityEnvironment({ attempt: 3 }).run(createTransferFiles(deps), { exportName: name, date: DATE, gcsPath })) as TransferSummary;
    assert.ok(!again.files_skipped.includes('F_20250108-000000000000.csv'));
    assert.ok(decryptAsPartner(f0).plain.equals(files['F_20250108-000000000000.csv']));
    mkdirLocal(folder);
  } finally {
    await deps.sftpPool.closeAll();
  }
});
