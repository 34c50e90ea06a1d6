/**
 * `prepareConnectionKeys` (what `bq-sftp worker` runs as it starts): the named connections' keys
 * are opened for the process, and a connection whose key cannot be read is skipped — the ones
 * after it are still opened (the stack's key user: an ed25519 key with a passphrase).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { configSchema } from '../../src/config';
import { prepareConnectionKeys } from '../../src/activities/sftp-endpoint';
import { cachedPrivateKey } from '../../src/sftp/key-cache';
import { stack } from '../helpers/stack';

test('every readable connection key is opened; an unreadable one before it is skipped', async () => {
  const info = stack();
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, unknown>;
  const k = info.sftp.keyUser;
  const base = { host: info.sftp.host, port: info.sftp.port, username: k.username, passphrase: k.passphrase, directory: k.directory, host_key: info.sftp.hostKeyFingerprint };
  const config = configSchema.parse({
    ...demo,
    connections: { sftp: { a_unreadable: { ...base, private_key_path: '/nonexistent/bq-sftp-test-key' }, b_readable: { ...base, private_key_path: k.privateKeyPath } } },
  });
  const key = fs.readFileSync(k.privateKeyPath, 'utf8');
  assert.equal(cachedPrivateKey(key, k.passphrase), undefined);
  await prepareConnectionKeys(config);
  assert.ok(cachedPrivateKey(key, k.passphrase), 'the readable connection after the unreadable one was opened');
});
