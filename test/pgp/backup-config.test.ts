/**
 * `backups.<name>.pgp` without the stack: config validation (each guard alone, naming its field),
 * the keys checked before a backup runs (expired recipient, expired decryption key), what
 * `bq-sftp pgp check` lists for a backup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig, type Config } from '../../src/config';
import { usableBackupKeys } from '../../src/pgp/backup';
import { allConfiguredKeys } from '../../src/pgp/keys';
import { gpgParty } from './gpg';
import { checkSourceRead } from '../../src/backup/destinations/hashing';

const us = gpgParty('us', { passphrase: 'bk-sign' });
const vault = gpgParty('vault', { passphrase: 'bk-vault' });
const partner = gpgParty('partner');
const expired = gpgParty('expired', { fakedTime: '20200101T000000', expire: '1d' });

function raw(pgp: Record<string, unknown>, opts: { inbound?: Record<string, unknown>; destination?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    gcs: { bucket: 'test-bucket' },
    sftp: { host: '127.0.0.1', port: 2222, username: 'u', password: 'x', directory: '/upload' },
    backups: { nightly: { dataset: 'sales', destination: opts.destination ?? { type: 'sftp' }, pgp } },
    ...(opts.inbound ? { pgp: opts.inbound } : {}),
  };
}

function issues(pgp: Record<string, unknown>, opts?: Parameters<typeof raw>[1]): { path: string; message: string }[] {
  try {
    validateConfig(raw(pgp, opts));
    return [];
  } catch (err) {
    return (err as { issues: { path: string; message: string }[] }).issues;
  }
}

const own = { decryption_private_key: vault.secretArmored, decryption_passphrase: vault.passphrase };
const ok = { recipients: [partner.publicArmored], signing_private_key: us.secretArmored, passphrase: us.passphrase, ...own };

test('config: a backup pgp block like an export\'s, with the key that reads it back; each guard alone names its field', () => {
  assert.deepEqual(issues(ok), []);
  const b = (validateConfig(raw({ ...own })) as Config).backups.nightly.pgp!;
  assert.deepEqual(b.recipients, [], 'recipients may be left out: the backup is encrypted to our decryption key');
  assert.equal(b.suffix, '.pgp');
  assert.equal(b.armor, false);
  // the top-level pgp block's decryption key serves when the backup has none
  assert.deepEqual(issues({ recipients: [partner.publicArmored] }, { inbound: { decryption_private_key: vault.secretArmored, passphrase: vault.passphrase } }), []);

  // nothing could read the backup back: refused before anything runs
  const none = issues({ recipients: [partner.publicArmored] });
  assert.deepEqual(none.map((i) => i.path), ['backups.nightly.pgp.decryption_private_key']);
  assert.match(none[0].message, /required: verify and restore decrypt the backup with it/);
  // Box's chunked upload needs the size up front: no encrypted backups there
  const box = issues(ok, { destination: { type: 'box', auth: 'ccg', client_id: 'id', client_secret: 's', enterprise_id: '1' } });
  assert.deepEqual(box.map((i) => i.path), ['backups.nightly.pgp']);
  assert.match(box[0].message, /not available for a box destination/);
  assert.deepEqual(issues({ ...ok, decryption_private_key_path: '/k.asc' }).map((i) => i.path), ['backups.nightly.pgp.decryption_private_key_path']);
  assert.deepEqual(issues({ recipients: [partner.publicArmored], decryption_private_key_path: '/k.asc', decryption_passphrase: 'x' }).map((i) => i.path), []);
  assert.deepEqual(
    issues({ recipients: [partner.publicArmored], decryption_passphrase: 'x' }, { inbound: { decryption_private_key: vault.secretArmored } }).map((i) => i.path),
    ['backups.nightly.pgp.decryption_passphrase'],
  );
  assert.deepEqual(issues({ ...ok, decryption_private_key: partner.publicArmored }).map((i) => i.path), ['backups.nightly.pgp.decryption_private_key']);
  assert.deepEqual(issues({ ...ok, recipients: [us.secretArmored] }).map((i) => i.path), ['backups.nightly.pgp.recipients[0]']);
  assert.deepEqual(issues({ ...ok, passphrase: undefined, signing_private_key: undefined, sign: true }).map((i) => i.path), ['backups.nightly.pgp.signing_private_key']);
  const typo = issues({ ...ok, decryption_key: 'x' });
  assert.deepEqual(typo.map((i) => i.path), ['backups.nightly.pgp.decryption_key']);
  assert.match(typo[0].message, /decryption_private_key/, 'did-you-mean names the known key');
});

test('keys checked before a backup runs: an expired recipient, an expired decryption key, each alone, name their field', async () => {
  const good = validateConfig(raw(ok)) as Config;
  const keys = await usableBackupKeys(good, 'nightly', good.backups.nightly.pgp!);
  assert.deepEqual(keys.summary.recipients, [partner.fingerprint, vault.fingerprint], 'encrypted to the partner and to our own decryption key');
  assert.equal(keys.summary.signer, us.fingerprint);

  const old = validateConfig(raw({ ...ok, recipients: [partner.publicArmored, expired.publicArmored] })) as Config;
  await assert.rejects(usableBackupKeys(old, 'nightly', old.backups.nightly.pgp!), (e: Error & { type?: string }) => {
    assert.equal(e.type, 'ConfigInvalid');
    assert.match(e.message, new RegExp(`backups\\.nightly\\.pgp\\.recipients\\[1\\]: the recipient key ${expired.fingerprint} .*expired on 2020-01-02`));
    return true;
  });
  const lost = validateConfig(raw({ ...ok, decryption_private_key: expired.secretArmored, decryption_passphrase: undefined })) as Config;
  await assert.rejects(usableBackupKeys(lost, 'nightly', lost.backups.nightly.pgp!), (e: Error & { type?: string }) => {
    assert.equal(e.type, 'ConfigInvalid');
    assert.match(e.message, new RegExp(`backups\\.nightly\\.pgp\\.decryption_private_key: the decryption key ${expired.fingerprint} .*expired`));
    return true;
  });
  const locked = validateConfig(raw({ ...ok, decryption_passphrase: 'wrong' })) as Config;
  await assert.rejects(usableBackupKeys(locked, 'nightly', locked.backups.nightly.pgp!), /backups\.nightly\.pgp\.decryption_passphrase: does not unlock the private key/);
});

test('pgp check lists a backup\'s recipients, signing key and decryption key', async () => {
  const config = validateConfig(raw(ok)) as Config;
  const listed = await allConfiguredKeys(config);
  assert.deepEqual(listed.problems, []);
  assert.deepEqual(
    listed.keys.filter((k) => k.field.startsWith('backups.nightly.')).map((k) => [k.field, k.role, k.fingerprint]),
    [
      ['backups.nightly.pgp.recipients[0]', 'recipient', partner.fingerprint],
      ['backups.nightly.pgp.signing_private_key', 'signing', us.fingerprint],
      ['backups.nightly.pgp.decryption_private_key', 'decryption', vault.fingerprint],
    ],
  );
});

test('what was read of a staged file (the plaintext of an encrypted one) must be the object: each mismatch alone is refused', () => {
  const ok = { bytes: 10, md5: 'aa' };
  checkSourceRead('p.parquet', { size: 10, md5: 'aa' }, ok);
  checkSourceRead('p.parquet', {}, ok);
  assert.throws(() => checkSourceRead('p.parquet', { size: 11, md5: 'aa' }, ok), (e: Error & { type?: string }) => e.type === 'SourceSizeMismatch' && /read 10 bytes of p\.parquet but the source has 11/.test(e.message));
  assert.throws(() => checkSourceRead('p.parquet', { size: 10, md5: 'bb' }, ok), (e: Error & { type?: string }) => e.type === 'SourceChecksumMismatch' && /md5 of p\.parquet as read \(aa\) differs from the source's bb/.test(e.message));
});

test('bq-sftp pgp check (a real process) prints a backup\'s keys and exits 2 naming an expired recipient of it', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-bk-pgp-cli-'));
  try {
    const run = (pgp: Record<string, unknown>) => {
      const file = path.join(tmp, `c-${Math.random().toString(36).slice(2)}.json`);
      fs.writeFileSync(file, JSON.stringify(raw(pgp)));
      return spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/bq-sftp.js'), 'pgp', 'check', '--config', file], { encoding: 'utf8' });
    };
    const good = run(ok);
    assert.equal(good.status, 0, good.stderr);
    for (const fpr of [partner.fingerprint, us.fingerprint, vault.fingerprint]) assert.match(good.stdout, new RegExp(fpr));
    assert.match(good.stdout, /backups\.nightly\.pgp\.decryption_private_key/);
    const bad = run({ ...ok, recipients: [expired.publicArmored] });
    assert.equal(bad.status, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, new RegExp(`backups\\.nightly\\.pgp\\.recipients\\[0\\]: the recipient key ${expired.fingerprint} expired`));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
