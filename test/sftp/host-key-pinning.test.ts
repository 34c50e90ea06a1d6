/** A wrong pinned host key stops the connection during key exchange: no login is attempted, nothing is written. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectSftp, isSftpError, SftpPool } from '../../src/sftp';
import { stack } from '../helpers/stack';
import { endpointFor, USER_KINDS } from './helpers/endpoints';
import { OwnSshd } from './helpers/own-sshd';

const info = stack();
const sshd = new OwnSshd();
const WRONG_PINS = [
  'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  // a real ed25519 key (ssh-keygen), just not the server's
  '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ01dMaCvz2zYW0iwakc7sUiRD9k5Qs2XP98gM2ibm9i',
];

before(() => sshd.start());
after(() => sshd.stop());

for (const kind of USER_KINDS) {
  for (const pin of WRONG_PINS) {
    test(`wrong host key (${pin.slice(0, 12)}…) for the ${kind} user: SftpHostKeyMismatch before any authentication`, async () => {
      const debug: string[] = [];
      const logBefore = sshd.log().length;
      const err = await connectSftp(endpointFor(kind, { port: sshd.port, hostKey: pin, debug: (m) => debug.push(m) })).catch((e: unknown) => e);
      assert.ok(isSftpError(err, 'SftpHostKeyMismatch'), String(err));
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(info.sftp.hostKeyFingerprint.replace(/[+/]/g, '\\$&')), 'names the key the server presented');
      assert.match(err.message, /no login was attempted/);

      // the client never sent a login request...
      assert.ok(debug.some((m) => /KEXDH|KEXECDH|Handshake/i.test(m)), 'the debug log shows the key exchange');
      assert.ok(!debug.some((m) => /USERAUTH_REQUEST/.test(m)), `a login request was sent:\n${debug.filter((m) => /USERAUTH/.test(m)).join('\n')}`);
      // ...and the server saw none: its log for this connection ends before authentication
      await new Promise((r) => setTimeout(r, 200));
      const log = sshd.log().slice(logBefore);
      assert.match(log, /Connection from 127\.0\.0\.1/);
      assert.match(log, /\[preauth\]/);
      assert.doesNotMatch(log, /Accepted|Failed|Postponed|authenticating user|Invalid user|session opened|Starting session/);
    });
  }
}

test('the pool refuses a wrong host key too, and does not keep a connection', async () => {
  const pool = new SftpPool();
  let ran = false;
  const err = await pool
    .withSession(endpointFor('password', { port: sshd.port, hostKey: WRONG_PINS[0] }), async () => {
      ran = true;
    })
    .catch((e: unknown) => e);
  assert.ok(isSftpError(err, 'SftpHostKeyMismatch'));
  assert.equal(ran, false, 'nothing may run against an unverified server');
  assert.equal(pool.stats().open, 0);
});

test('the right key pinned logs in (the same server, to show the check above is the only difference)', async () => {
  const s = await connectSftp(endpointFor('password', { port: sshd.port }));
  await s.close();
  await new Promise((r) => setTimeout(r, 200));
  assert.match(sshd.log(), /Accepted password for/);
});
