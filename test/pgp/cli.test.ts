/** `bq-sftp pgp check` (a real process): fingerprints and expiry, warnings, exit 2 on an expired key; config validation of the pgp blocks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../src/config';
import { gpgParty } from './gpg';

const BIN = path.resolve(__dirname, '../../bin/bq-sftp.js');
const us = gpgParty('us', { passphrase: 'p4ss' });
const partner = gpgParty('partner');
const soon = gpgParty('soon', { expire: '10d' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-pgp-cli-'));

function baseConfig(pgp: Record<string, unknown>, inbound?: Record<string, unknown>): Record<string, unknown> {
  return {
    gcs: { bucket: 'test-bucket' },
    sftp: { host: '127.0.0.1', port: 2222, username: 'u', password: 'x', directory: '/upload' },
    exports: { daily: { query: 'SELECT 1', pgp } },
    ...(inbound ? { pgp: inbound } : {}),
  };
}

function run(config: Record<string, unknown>, env: Record<string, string> = {}, args: string[] = []) {
  const file = path.join(tmp, `c-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const r = spawnSync(process.execPath, [BIN, 'pgp', 'check', '--config', file, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('pgp check prints every key with fingerprint and expiry, warns within 30 days, keys and passphrase by env reference', () => {
  const keyFile = path.join(tmp, 'partner.asc');
  fs.writeFileSync(keyFile, partner.publicArmored);
  const r = run(
    baseConfig(
      { recipients: [keyFile, soon.publicArmored], signing_private_key: { env: 'PGP_SIGNING_KEY' }, passphrase: { env: 'PGP_PASSPHRASE' } },
      { decryption_private_key: { env: 'PGP_SIGNING_KEY' }, passphrase: { env: 'PGP_PASSPHRASE' }, verification_keys: [partner.publicArmored] },
    ),
    { PGP_SIGNING_KEY: us.secretArmored, PGP_PASSPHRASE: us.passphrase },
  );
  assert.equal(r.code, 0, r.stderr);
  for (const f of [partner.fingerprint, soon.fingerprint, us.fingerprint]) assert.ok(r.stdout.includes(f), `lists ${f}:\n${r.stdout}`);
  assert.match(r.stdout, /recipient\s+[0-9A-F]{40}\s+expires \d{4}-\d\d-\d\d/);
  assert.match(r.stdout, /signing/);
  assert.match(r.stdout, /decryption/);
  assert.match(r.stdout, /verification/);
  assert.match(r.stderr, new RegExp(`warning: exports\\.daily\\.pgp\\.recipients\\[1\\]: the recipient key ${soon.fingerprint} expires on .* \\(in (9|10) days\\)`));
  assert.ok(!r.stdout.includes(us.passphrase) && !r.stderr.includes('PRIVATE KEY'), 'no secret printed');
});

test('pgp check exits 2 naming the field for an expired recipient key, a wrong passphrase and a missing key file', () => {
  const old = gpgParty('old', { fakedTime: '20200101T000000', expire: '1d' });
  const r = run(baseConfig({ recipients: [partner.publicArmored, old.publicArmored, '/nonexistent/key.asc'], signing_private_key: us.secretArmored, passphrase: 'not-the-one-7q' }));
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`exports\\.daily\\.pgp\\.recipients\\[1\\]: the recipient key ${old.fingerprint} expired on 2020-01-02`));
  assert.match(r.stderr, /exports\.daily\.pgp\.recipients\[2\]: file not found: \/nonexistent\/key\.asc/);
  assert.match(r.stderr, /exports\.daily\.pgp\.passphrase: does not unlock the private key/);
  assert.ok(!r.stderr.includes('not-the-one-7q'), 'the passphrase is never echoed');
});

test('pgp check with no keys says so; --json lists keys', () => {
  const none = { gcs: { bucket: 'test-bucket' }, sftp: { host: '127.0.0.1', username: 'u', password: 'x', directory: '/upload' } };
  const r = run(none);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no OpenPGP keys configured/);
  const j = run(baseConfig({ recipients: [partner.publicArmored] }), {}, ['--json']);
  assert.equal(j.code, 0, j.stderr);
  const report = JSON.parse(j.stdout) as { valid: boolean; keys: { fingerprint: string; role: string }[] };
  assert.equal(report.valid, true);
  assert.deepEqual(report.keys.map((k) => [k.role, k.fingerprint]), [['recipient', partner.fingerprint]]);
});

test('config: each pgp guard is reported alone with its field', () => {
  const issues = (pgp: Record<string, unknown>, inbound?: Record<string, unknown>) => {
    try {
      validateConfig(baseConfig(pgp, inbound));
      return [];
    } catch (err) {
      return (err as { issues: { path: string; message: string }[] }).issues;
    }
  };
  const ok = { recipients: [partner.publicArmored] };
  assert.deepEqual(issues(ok), []);
  assert.deepEqual(issues({ recipients: [] }).map((i) => i.path), ['exports.daily.pgp.recipients']);
  assert.deepEqual(issues({ recipients: [us.secretArmored] }).map((i) => i.path), ['exports.daily.pgp.recipients[0]']);
  assert.deepEqual(issues({ ...ok, signing_private_key: partner.publicArmored }).map((i) => i.path), ['exports.daily.pgp.signing_private_key']);
  assert.deepEqual(issues({ ...ok, signing_private_key: us.secretArmored, signing_private_key_path: '/k' }).map((i) => i.path), ['exports.daily.pgp.signing_private_key_path']);
  assert.deepEqual(issues({ ...ok, passphrase: 'x' }).map((i) => i.path), ['exports.daily.pgp.passphrase']);
  assert.deepEqual(issues({ ...ok, sign: true }).map((i) => i.path), ['exports.daily.pgp.signing_private_key']);
  assert.deepEqual(issues({ ...ok, suffix: 'a/b' }).map((i) => i.path), ['exports.daily.pgp.suffix']);
  const typo = issues({ ...ok, recipient: [] });
  assert.equal(typo.length, 1);
  assert.equal(typo[0].path, 'exports.daily.pgp.recipient');
  assert.match(typo[0].message, /recipients/, 'did-you-mean names the known key');
  assert.deepEqual(issues(ok, { passphrase: 'x' }).map((i) => i.path), ['pgp.passphrase']);
  assert.deepEqual(issues(ok, { verification_keys: ['-----BEGIN PGP PRIVATE KEY BLOCK-----\nx'] }).map((i) => i.path), ['pgp.verification_keys[0]']);
});
