import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Client, SFTPWrapper } from 'ssh2';
import { SftpSession } from '../../src/sftp/session';
import { isSftpError } from '../../src/sftp/errors';

// ssh2 at a seam: a client whose socket closed before the session attached its listeners (it
// emits no 'close' any more), as happened between the SFTP channel opening and the session
const info = { server: '127.0.0.1:22', username: 'u', hostKey: { type: 'ssh-ed25519', fingerprint: 'SHA256:x', knownHostsLine: '' }, secrets: [] } as unknown as ConstructorParameters<typeof SftpSession>[2];

function fakes(socketDestroyed: boolean) {
  const client = Object.assign(new EventEmitter(), { _sock: { destroyed: socketDestroyed } }) as unknown as Client;
  const sftp = Object.assign(new EventEmitter(), { stat: () => undefined }) as unknown as SFTPWrapper;
  return { client, sftp };
}

test('a session made on a transport that already closed is not alive, and its requests fail at once with SftpConnectionLost', async () => {
  const { client, sftp } = fakes(true);
  const s = new SftpSession(client, sftp, info);
  assert.equal(s.alive, false);
  const err = await s.stat('.').catch((e: unknown) => e);
  assert.ok(isSftpError(err, 'SftpConnectionLost'), String(err));
});

test('control: on an open transport the session is alive until the client closes', () => {
  const { client, sftp } = fakes(false);
  const s = new SftpSession(client, sftp, info);
  assert.equal(s.alive, true);
  client.emit('close');
  assert.equal(s.alive, false);
});

test('a socket destroyed later without a close event: the next request notices and fails with SftpConnectionLost instead of waiting', async () => {
  const { client, sftp } = fakes(false);
  const s = new SftpSession(client, sftp, info);
  (client as unknown as { _sock: { destroyed: boolean } })._sock.destroyed = true;
  const err = await s.stat('.').catch((e: unknown) => e);
  assert.ok(isSftpError(err, 'SftpConnectionLost'), String(err));
  assert.equal(s.alive, false);
});
