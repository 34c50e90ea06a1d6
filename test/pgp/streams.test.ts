import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptingStream, encryptingStream, isPgpError, type PgpError } from '../../src/pgp/streams';
import { loadPrivateKey, loadPublicKey, assertUsable } from '../../src/pgp/keys';
import { isConfigError } from '../../src/config';
import { gpgParty, trust, validSigners } from './gpg';

// us: our signing/decryption key (with a passphrase); partner: sends and receives; stranger: signs what it should not
const us = gpgParty('us', { passphrase: 'our secret phrase' });
const partner = gpgParty('partner');
const stranger = gpgParty('stranger');
trust(partner, us);
trust(us, partner);
trust(stranger, us);
trust(partner, stranger);

const ourKey = () => loadPrivateKey({ text: us.secretArmored }, us.passphrase, 'pgp.decryption_private_key', 'pgp.passphrase');
const partnerPub = () => loadPublicKey(partner.publicArmored, 'exports.x.pgp.recipients[0]');

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(r, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  return Buffer.concat(parts);
}

/** `size` pseudo-random bytes in 64 KiB chunks (never all in memory at once on the producing side). */
function source(size: number, seed = 1): { stream: Readable; sha256: string } {
  const whole = crypto.createHash('sha256');
  let sent = 0;
  const gen = crypto.createHash('sha256').update(String(seed)).digest();
  const chunks: Buffer[] = [];
  while (sent < size) {
    const n = Math.min(65536, size - sent);
    const c = Buffer.alloc(n);
    for (let i = 0; i < n; i += 32) gen.copy(c, i, 0, Math.min(32, n - i));
    c.writeUInt32LE(sent >>> 0, 0);
    chunks.push(c);
    whole.update(c);
    sent += n;
  }
  return { stream: Readable.from(chunks), sha256: whole.digest('hex') };
}

for (const armor of [false, true]) {
  test(`encrypt+sign while streaming (${armor ? 'armored' : 'binary'}): gpg decrypts to the same bytes and accepts our signature`, async () => {
    const plain = source(3 * 1024 * 1024 + 17);
    const enc = encryptingStream(plain.stream, { encryptionKeys: [await partnerPub()], signingKey: await ourKey(), armor, fileName: 'data.csv' });
    const message = await collect(enc.stream);
    assert.equal(message.subarray(0, 27).toString('latin1').startsWith('-----BEGIN PGP MESSAGE-----'), armor);
    const status = partner.gpgRaw(['--status-fd', '2', '--decrypt'], message);
    assert.equal(status.status, 0, status.stderr);
    assert.equal(crypto.createHash('sha256').update(status.stdout).digest('hex'), plain.sha256, 'gpg --decrypt gives the plaintext');
    assert.deepEqual(validSigners(status.stderr), [us.fingerprint], 'gpg verified our signature');
    const decryptionInfo = status.stderr.split('\n').find((l) => l.startsWith('[GNUPG:] DECRYPTION_INFO '))?.split(' ');
    assert.deepEqual(decryptionInfo?.slice(2, 4), ['2', '9'], 'SEIPD v1 with the SHA-1 MDC and AES-256, the recipient key\'s first preference');
    assert.equal(enc.plaintext().bytes, 3 * 1024 * 1024 + 17);
    assert.equal(enc.plaintext().sha256, plain.sha256, 'the plaintext sha256 was measured while streaming');
  });
}

test('a source error mid-file comes out of the encrypted stream (no message that looks complete)', async () => {
  const keys = { encryptionKeys: [await partnerPub()], signingKey: await ourKey() };
  const broken = new Readable({ read() {} });
  broken.push(Buffer.alloc(600_000, 1));
  setTimeout(() => broken.destroy(new Error('download failed')), 100);
  const enc = encryptingStream(broken, keys);
  const err = await collect(enc.stream).catch((e: unknown) => e);
  assert.match(String(err), /download failed/);
});

test('gpg --verify accepts our signature on the decrypted message (signature checked by gpg on its own)', async () => {
  const plain = source(100_000, 2);
  const enc = encryptingStream(plain.stream, { encryptionKeys: [await partnerPub()], signingKey: await ourKey() });
  const message = await collect(enc.stream);
  // unwrap the encryption layer only: what is left is a signed message that `gpg --verify` checks
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-pgp-'));
  try {
    fs.writeFileSync(path.join(dir, 'm.pgp'), message);
    partner.gpg(['--output', path.join(dir, 'signed.gpg'), '--skip-verify', '--unwrap', '--decrypt', path.join(dir, 'm.pgp')]);
    const verify = partner.gpgRaw(['--status-fd', '1', '--verify', path.join(dir, 'signed.gpg')]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.deepEqual(validSigners(verify.stdout.toString()), [us.fingerprint]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file gpg encrypted to us and signed decrypts through decryptingStream (binary and armored)', async () => {
  const plain = crypto.randomBytes(2 * 1024 * 1024 + 5);
  for (const armor of [[], ['--armor']]) {
    const message = partner.gpg([...armor, '--recipient', us.fingerprint, '--sign', '--encrypt'], plain);
    const out = await collect(
      decryptingStream(Readable.from([message.subarray(0, 1000), message.subarray(1000)]), {
        fileName: 'users.csv.pgp',
        decryptionKey: await ourKey(),
        verificationKeys: [await loadPublicKey(partner.publicArmored, 'pgp.verification_keys[0]')],
      }),
    );
    assert.ok(out.equals(plain));
  }
});

async function decryptFailure(message: Buffer, fileName: string, verify = true): Promise<PgpError> {
  const err = await collect(
    decryptingStream(Readable.from([message]), {
      fileName,
      decryptionKey: await ourKey(),
      verificationKeys: verify ? [await loadPublicKey(partner.publicArmored, 'pgp.verification_keys[0]')] : [],
    }),
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isPgpError(err), `a PgpError, got ${String(err)}`);
  assert.equal(err.retryable, false);
  assert.match(err.message, new RegExp(fileName.replace(/\./g, '\\.')), 'the message names the file');
  return err;
}

test('a tampered byte fails permanently, naming the file', async () => {
  const plain = crypto.randomBytes(300_000);
  const message = partner.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt', '--compress-algo', 'none'], plain);
  message[Math.floor(message.length / 2)] ^= 0x01;
  const err = await decryptFailure(message, 'tampered.csv.pgp');
  assert.ok(['PgpIntegrityFailed', 'PgpSignatureInvalid', 'PgpDecryptionFailed'].includes(err.type), err.type);
});

test('a file signed by another key fails permanently with PgpSignatureInvalid naming the file and the key id', async () => {
  const message = stranger.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt'], Buffer.from('a,b\n1,2\n'));
  const err = await decryptFailure(message, 'other-signer.csv.gpg');
  assert.equal(err.type, 'PgpSignatureInvalid');
  const strangerSigningKeyId = stranger.fingerprint.slice(-16);
  assert.ok(err.message.includes(strangerSigningKeyId), `${err.message} names ${strangerSigningKeyId}`);
});

test('an unsigned file fails with PgpSignatureMissing when partner keys are configured, and decrypts when none are', async () => {
  const message = partner.gpg(['--recipient', us.fingerprint, '--encrypt'], Buffer.from('unsigned'));
  const err = await decryptFailure(message, 'unsigned.csv.pgp');
  assert.equal(err.type, 'PgpSignatureMissing');
  assert.ok(err.message.includes(partner.fingerprint.slice(-16)), 'names the key id it wanted');
  const out = await collect(decryptingStream(Readable.from([message]), { fileName: 'unsigned.csv.pgp', decryptionKey: await ourKey() }));
  assert.equal(out.toString(), 'unsigned');
});

test('a file encrypted to someone else fails with PgpDecryptionFailed naming the file and the key id', async () => {
  const message = partner.gpg(['--recipient', stranger.fingerprint, '--sign', '--encrypt'], Buffer.from('not for us'));
  const err = await decryptFailure(message, 'wrong-recipient.asc');
  assert.equal(err.type, 'PgpDecryptionFailed');
  assert.ok(err.keyIds.length > 0);
  assert.ok(err.message.includes(err.keyIds[0]));
});

test('a source error while decrypting comes out unchanged (retryable), not as a PgpError', async () => {
  const message = partner.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt'], crypto.randomBytes(200_000));
  const decryptionKey = await ourKey();
  const broken = new Readable({ read() {} });
  broken.push(message.subarray(0, 5000));
  setTimeout(() => broken.destroy(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' })), 50);
  const err = await collect(decryptingStream(broken, { fileName: 'x.pgp', decryptionKey })).catch((e: unknown) => e);
  assert.ok(err instanceof Error && !isPgpError(err));
  assert.match(err.message, /connection lost/);
});

test('keys: wrong passphrase, missing passphrase, a missing key file and an expired recipient key are config errors naming the field', async () => {
  const wrong = await loadPrivateKey({ text: us.secretArmored }, 'nope', 'exports.x.pgp.signing_private_key', 'exports.x.pgp.passphrase').catch((e: unknown) => e);
  assert.ok(isConfigError(wrong));
  assert.equal(wrong.issues[0].path, 'exports.x.pgp.passphrase');
  assert.ok(!wrong.message.includes('nope'), 'never echoes the passphrase');
  const missing = await loadPrivateKey({ text: us.secretArmored }, undefined, 'exports.x.pgp.signing_private_key', 'exports.x.pgp.passphrase').catch((e: unknown) => e);
  assert.ok(isConfigError(missing));
  assert.equal(missing.issues[0].path, 'exports.x.pgp.passphrase');
  const noFile = await loadPublicKey('/nonexistent/partner.asc', 'exports.x.pgp.recipients[1]').catch((e: unknown) => e);
  assert.ok(isConfigError(noFile));
  assert.equal(noFile.issues[0].path, 'exports.x.pgp.recipients[1]');

  // a binary key file works as well as armored text
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-pgp-'));
  try {
    fs.writeFileSync(path.join(dir, 'partner.gpg'), partner.gpg(['--export', partner.fingerprint]));
    const k = await loadPublicKey(path.join(dir, 'partner.gpg'), 'exports.x.pgp.recipients[0]');
    assert.equal(k.getFingerprint().toUpperCase(), partner.fingerprint);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const old = gpgParty('expired', { fakedTime: '20200101T000000', expire: '1d' });
  const expired = await loadPublicKey(old.publicArmored, 'exports.x.pgp.recipients[0]');
  const err = await assertUsable(expired, 'exports.x.pgp.recipients[0]', 'recipient').catch((e: unknown) => e);
  assert.ok(isConfigError(err), String(err));
  assert.equal(err.issues[0].path, 'exports.x.pgp.recipients[0]');
  assert.match(err.message, /expired on 2020-01-02/);
  assert.ok(err.message.includes(old.fingerprint));
});
