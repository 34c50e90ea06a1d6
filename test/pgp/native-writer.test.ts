import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as openpgp from 'openpgp';
import { nativeEncryptionPlan } from '../../src/pgp/native-plan';
import { nativeEncryptTransform } from '../../src/pgp/native-writer';
import { decryptingStream, encryptingStream } from '../../src/pgp/streams';
import { loadPrivateKey, loadPublicKey } from '../../src/pgp/keys';
import { gpgParty, validSigners } from './gpg';

// us: gpg's default Ed25519 signing key (legacy EdDSA) plus an RSA signing subkey made only for
// the RSA case; partner, second: recipients (cv25519)
const us = gpgParty('native-us', { passphrase: 'native phrase' });
const partner = gpgParty('native-partner');
const second = gpgParty('native-second');
const rsaUs = gpgParty('native-rsa', { passphrase: 'rsa phrase' });
rsaUs.gpg(['--quick-add-key', rsaUs.fingerprint, 'rsa2048', 'sign', '1y']);
const rsaArmored = { pub: rsaUs.gpg(['--armor', '--export', rsaUs.fingerprint]).toString(), sec: rsaUs.gpg(['--armor', '--export-secret-keys', rsaUs.fingerprint]).toString() };
const rsaSubkeyFpr = rsaUs.gpg(['--with-colons', '--list-keys', rsaUs.fingerprint]).toString().split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]).at(-1)!;
for (const p of [partner, second]) {
  p.gpg(['--import'], Buffer.from(us.publicArmored));
  p.gpg(['--import'], Buffer.from(rsaArmored.pub));
}

const ourKey = () => loadPrivateKey({ text: us.secretArmored }, us.passphrase, 'pgp.signing_private_key', 'pgp.passphrase');
const rsaKey = () => loadPrivateKey({ text: rsaArmored.sec }, 'rsa phrase', 'pgp.signing_private_key', 'pgp.passphrase');
const pub = (p: { publicArmored: string }) => loadPublicKey(p.publicArmored, 'exports.x.pgp.recipients[0]');

async function encryptNative(data: Buffer, o: { signingKey?: openpgp.PrivateKey; recipients?: openpgp.PublicKey[]; armor?: boolean; piece?: number }) {
  const plan = await nativeEncryptionPlan(o.recipients ?? [await pub(partner)], o.signingKey);
  assert.ok(plan, 'the native writer takes these keys');
  const t = nativeEncryptTransform(plan, { armor: o.armor, fileName: 'report.csv', md5: true });
  const out: Buffer[] = [];
  const piece = o.piece ?? 17_000;
  const pieces = function* () {
    for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
  };
  await pipeline(Readable.from(pieces()), t, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return { message: Buffer.concat(out), measure: t.measure() };
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

// sizes around the 64 KiB partial-length chunks and the 512-byte minimum of a first partial chunk
const SIZES = [0, 1, 511, 512, 65_535, 65_536, 65_537, 3 * 65_536 + 5, 1_048_576 + 3];

for (const [label, key, signer] of [
  ['Ed25519 (legacy EdDSA, gpg default)', ourKey, () => us.fingerprint],
  ['RSA 2048 signing subkey', rsaKey, () => rsaSubkeyFpr],
] as const) {
  test(`native writer, ${label}: gpg decrypts every size to the same bytes and verifies our signature (binary and armored)`, async () => {
    const signingKey = await key();
    for (const size of SIZES) {
      const data = crypto.randomBytes(size);
      for (const armor of [false, true]) {
        const { message, measure } = await encryptNative(data, { signingKey, armor });
        assert.equal(message.subarray(0, 27).toString('latin1') === '-----BEGIN PGP MESSAGE-----', armor, `${size} armor ${armor}`);
        const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], message);
        assert.equal(r.status, 0, `${size} bytes, armor ${armor}: ${r.stderr}`);
        assert.equal(sha256(r.stdout), sha256(data), `${size} bytes, armor ${armor}: gpg gives the plaintext`);
        // VALIDSIG names the primary key's fingerprint last; the signing (sub)key's first
        assert.deepEqual(validSigners(r.stderr).length, 1, `${size} bytes: one good signature`);
        assert.match(r.stderr, new RegExp(`VALIDSIG ${signer()} `), `${size} bytes: signed by ${label}`);
        assert.match(r.stderr, /PLAINTEXT 62 \d+ report\.csv/, 'binary literal data with the file name');
        assert.deepEqual(measure, { bytes: size, sha256: sha256(data), md5: crypto.createHash('md5').update(data).digest('hex') });
      }
    }
  });
}

test('native writer without a signing key: encrypted only, to two recipients, each decrypts; no signature', async () => {
  const data = crypto.randomBytes(200_001);
  const { message } = await encryptNative(data, { recipients: [await pub(partner), await pub(second)] });
  for (const p of [partner, second]) {
    const r = p.gpgRaw(['--status-fd', '2', '--decrypt'], message);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(r.stdout), sha256(data));
    assert.doesNotMatch(r.stderr, /NEWSIG|VALIDSIG/);
  }
});

test('native writer: one input chunk of any size (1 byte pieces, one whole piece) gives a message gpg reads', async () => {
  const signingKey = await ourKey();
  const data = crypto.randomBytes(70_000);
  for (const piece of [1, 70_000]) {
    const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], (await encryptNative(data.subarray(0, piece === 1 ? 3_000 : 70_000), { signingKey, piece })).message);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(r.stdout), sha256(data.subarray(0, piece === 1 ? 3_000 : 70_000)));
  }
});

test('our own decryptingStream (OpenPGP.js) reads the native message and checks its signature', async () => {
  const data = crypto.randomBytes(300_000);
  const { message } = await encryptNative(data, { signingKey: await ourKey() });
  const decryptionKey = await loadPrivateKey({ text: partner.secretArmored }, partner.passphrase, 'pgp.decryption_private_key', 'pgp.passphrase');
  const plain: Buffer[] = [];
  await pipeline(
    decryptingStream(Readable.from([message]), { fileName: 'report.csv.pgp', decryptionKey, verificationKeys: [await pub(us)] }),
    new Writable({ write: (c: Buffer, _e, cb) => (plain.push(c), cb()) }),
  );
  assert.equal(sha256(Buffer.concat(plain)), sha256(data));
});

test('keys the native writer does not take get no plan, and encryptingStream still writes a message gpg reads (OpenPGP.js)', async () => {
  // an ECDSA P-256 signing key (OpenPGP.js-made): not Ed25519 or RSA
  const ecdsa = await openpgp.generateKey({ type: 'ecc', curve: 'nistP256', userIDs: [{ email: 'ecdsa@example.com' }], format: 'object' });
  assert.equal(await nativeEncryptionPlan([await pub(partner)], ecdsa.privateKey), undefined);
  // a v6 signing key (RFC 9580): its signatures are v6, which the native writer does not make
  const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'v6@example.com' }], format: 'object', config: { v6Keys: true } });
  assert.equal(await nativeEncryptionPlan([await pub(partner)], v6.privateKey), undefined);
  // with the native-capable keys: a plan
  assert.ok(await nativeEncryptionPlan([await pub(partner)], await ourKey()));

  partner.gpg(['--import'], Buffer.from(ecdsa.publicKey.armor()));
  const data = crypto.randomBytes(100_000);
  const enc = encryptingStream(Readable.from([data]), { encryptionKeys: [await pub(partner)], signingKey: ecdsa.privateKey, fileName: 'x.bin' });
  const parts: Buffer[] = [];
  await pipeline(enc.stream, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], Buffer.concat(parts));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha256(r.stdout), sha256(data));
  assert.match(r.stderr, new RegExp(`VALIDSIG ${ecdsa.privateKey.getFingerprint().toUpperCase()} `));
  assert.equal(enc.plaintext().sha256, sha256(data));
});
