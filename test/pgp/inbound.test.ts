/**
 * Inbound OpenPGP files on the real SFTP server: a file gpg encrypted to us and signed by the
 * partner decrypts through inboundStream / decryptRemoteFile; a tampered byte or another signer
 * fails permanently naming the file, and no plaintext is published.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildActivityDeps } from '../../src/activities/deps';
import { sftpEndpointFor } from '../../src/activities/sftp-endpoint';
import { decryptRemoteFile, inboundStream, isPgpError } from '../../src/pgp/inbound';
import { isConfigError } from '../../src/config';
import { testConfig } from '../helpers/config';
import { listLocal, localSftpPath, mkdirLocal } from '../helpers/export';
import { gpgParty, trust } from './gpg';

const us = gpgParty('us', { passphrase: 'inbound-pass' });
const partner = gpgParty('partner');
const stranger = gpgParty('stranger');
trust(partner, us);
trust(stranger, us);

function setup(withKeys = true) {
  const config = testConfig(withKeys ? { pgp: { decryption_private_key: us.secretArmored, passphrase: us.passphrase, verification_keys: [partner.publicArmored] } } : {});
  const deps = buildActivityDeps(config);
  const folder = config.sftp!.directory;
  mkdirLocal(folder);
  return { config, deps, folder, endpoint: sftpEndpointFor(config, 'default') };
}

test('inboundStream decrypts a gpg-encrypted, partner-signed file read from SFTP; a plain file passes unchanged', async () => {
  const { config, deps, folder, endpoint } = setup();
  const plain = crypto.randomBytes(1_000_000);
  fs.writeFileSync(localSftpPath(`${folder}/users_20250108.csv.gpg`), partner.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt'], plain));
  fs.writeFileSync(localSftpPath(`${folder}/plain.csv`), 'a,b\n');
  try {
    await deps.sftpPool.withSession(endpoint, async (s) => {
      const r = await inboundStream(config, 'users_20250108.csv.gpg', s.createReadStream(`${folder}/users_20250108.csv.gpg`));
      assert.equal(r.name, 'users_20250108.csv');
      assert.equal(r.encrypted, true);
      const parts: Buffer[] = [];
      await pipeline(r.stream, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
      assert.ok(Buffer.concat(parts).equals(plain));
      const p = await inboundStream(config, 'plain.csv', s.createReadStream(`${folder}/plain.csv`));
      assert.equal(p.encrypted, false);
      p.stream.destroy();
    });
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('decryptRemoteFile publishes the plaintext atomically; tampered or other signer → PgpError naming the file, nothing published', async () => {
  const { config, deps, folder, endpoint } = setup();
  const plain = crypto.randomBytes(500_000);
  const good = partner.gpg(['--armor', '--recipient', us.fingerprint, '--sign', '--encrypt'], plain);
  const tampered = partner.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt', '--compress-algo', 'none'], plain);
  tampered[tampered.length - 5000] ^= 0x40;
  const other = stranger.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt'], plain);
  fs.writeFileSync(localSftpPath(`${folder}/good.csv.asc`), good);
  fs.writeFileSync(localSftpPath(`${folder}/tampered.csv.pgp`), tampered);
  fs.writeFileSync(localSftpPath(`${folder}/other.csv.pgp`), other);
  try {
    await deps.sftpPool.withSession(endpoint, async (s) => {
      const r = await decryptRemoteFile(config, s, folder, 'good.csv.asc');
      assert.deepEqual(r, { name: 'good.csv', bytes: plain.length });
      assert.ok(fs.readFileSync(localSftpPath(`${folder}/good.csv`)).equals(plain));
      for (const [name, type] of [['tampered.csv.pgp', /PgpIntegrityFailed|PgpSignatureInvalid|PgpDecryptionFailed/], ['other.csv.pgp', /PgpSignatureInvalid/]] as const) {
        const err = await decryptRemoteFile(config, s, folder, name).catch((e: unknown) => e);
        assert.ok(isPgpError(err), `${name}: ${String(err)}`);
        assert.match(err.type, type);
        assert.equal(err.retryable, false);
        assert.ok(err.message.includes(name), `${err.message} names ${name}`);
      }
    });
    assert.deepEqual(listLocal(folder), ['good.csv', 'other.csv.pgp', 'tampered.csv.pgp'], 'no plaintext or temp file for the refused ones');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('an encrypted file without a pgp block is a config error naming pgp', async () => {
  const { config, deps, folder, endpoint } = setup(false);
  fs.writeFileSync(localSftpPath(`${folder}/x.csv.pgp`), partner.gpg(['--recipient', us.fingerprint, '--encrypt'], Buffer.from('x')));
  try {
    await deps.sftpPool.withSession(endpoint, async (s) => {
      const err = await inboundStream(config, 'x.csv.pgp', s.createReadStream(`${folder}/x.csv.pgp`)).catch((e: unknown) => e);
      assert.ok(isConfigError(err));
      assert.equal(err.issues[0].path, 'pgp');
    });
  } finally {
    await deps.sftpPool.closeAll();
  }
});
