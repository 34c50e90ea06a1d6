import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as openpgp from 'openpgp';
import { iteratedS2K, loadPrivateKey } from '../../src/pgp/keys';
import { isConfigError } from '../../src/config';
import { gpgParty } from './gpg';

// GnuPG protects exported secret keys with the iterated-and-salted S2K (count ~65 MB here)
const party = gpgParty('s2k', { passphrase: 'the s2k phrase' });

type S2K = { type: string; algorithm: number; salt: Uint8Array; getCount(): number; produceKey(p: string, n: number): Promise<Uint8Array> };

test('iteratedS2K gives the bytes OpenPGP.js gives, for one digest and for several (a 32-byte key from SHA-1 needs a second, zero-prefixed one)', async () => {
  const key = await openpgp.readPrivateKey({ armoredKey: party.secretArmored });
  const s2k = (key.keyPacket as unknown as { s2k: S2K }).s2k;
  assert.equal(s2k.type, 'iterated');
  const names: Record<number, string> = { 2: 'sha1', 8: 'sha256', 10: 'sha512' };
  for (const numBytes of [16, 32, 70]) {
    const theirs = Buffer.from(await s2k.produceKey('the s2k phrase', numBytes));
    assert.deepEqual(iteratedS2K(names[s2k.algorithm], s2k.salt, 'the s2k phrase', s2k.getCount(), numBytes), theirs, `${numBytes} bytes`);
  }
  // a count shorter than salt ‖ passphrase hashes them once, whole
  const ours = iteratedS2K('sha1', Buffer.from('12345678'), 'pw', 3, 20);
  assert.deepEqual(ours, (await import('node:crypto')).createHash('sha1').update('12345678pw').digest());
});

test('a GnuPG-protected key unlocks with the streamed S2K; a wrong passphrase is still a config error naming the field', async () => {
  const key = await loadPrivateKey({ text: party.secretArmored }, 'the s2k phrase', 'pgp.signing_private_key', 'pgp.passphrase');
  assert.ok(key.isDecrypted());
  const err = await loadPrivateKey({ text: party.secretArmored }, 'not it', 'pgp.signing_private_key', 'pgp.passphrase').catch((e: unknown) => e);
  assert.ok(isConfigError(err));
  assert.match(String((err as Error).message), /pgp\.passphrase/);
});
