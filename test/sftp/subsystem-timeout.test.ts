import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Server, utils } from 'ssh2';
import { connectSftp } from '../../src/sftp/connect';
import { isSftpError } from '../../src/sftp/errors';

/** An SSH server that logs anyone in and opens sessions, but never answers the SFTP subsystem request. */
async function silentSubsystemServer(): Promise<{ port: number; fingerprint: string; subsystemAsked: () => boolean; close(): Promise<void> }> {
  const keys = utils.generateKeyPairSync('ed25519');
  let asked = false;
  const server = new Server({ hostKeys: [keys.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('session', (accept) => {
      const session = accept();
      session.on('sftp', () => {
        asked = true; // neither accepted nor rejected
      });
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const blob = Buffer.from(keys.public.split(' ')[1], 'base64');
  return {
    port: (server.address() as { port: number }).port,
    fingerprint: `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
    subsystemAsked: () => asked,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('a server that logs in but never opens the SFTP subsystem: the connect fails after the timeout as SftpConnectionLost (retried), it does not wait for ever', async () => {
  const srv = await silentSubsystemServer();
  try {
    const err = await connectSftp({ host: '127.0.0.1', port: srv.port, username: 'alice', password: 'pw', hostKey: srv.fingerprint, readyTimeoutMs: 1500 }).catch((e: unknown) => e);
    assert.ok(srv.subsystemAsked(), 'the login succeeded and the subsystem was asked for');
    assert.ok(isSftpError(err, 'SftpConnectionLost'), String(err));
    assert.match((err as Error).message, /did not open the SFTP subsystem within 1\.5 s/);
  } finally {
    await srv.close();
  }
});
