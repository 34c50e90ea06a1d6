import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SftpError, toSftpError, redactSecrets, SFTP_ERROR_TYPES } from '../../src/sftp';

// placeholder key text, assembled so no file in the repo looks like a committed key
const FAKE_KEY_KIND = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

function withProps(message: string, props: Record<string, unknown>): Error {
  return Object.assign(new Error(message), props);
}

const ctx = { server: '127.0.0.1:2222', username: 'alice', op: 'stat', path: '/upload/x' };

void describe('toSftpError', () => {
  test('maps ssh2, SFTP status and socket errors to stable types with the right retryability', () => {
    const cases: [Error, string, boolean][] = [
      [withProps('All configured authentication methods failed', { level: 'client-authentication' }), 'SftpAuthFailed', false],
      [new Error('Cannot parse privateKey: Encrypted private OpenSSH key detected, but no passphrase given'), 'SftpAuthFailed', false],
      [withProps('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED', level: 'client-socket' }), 'SftpHostUnreachable', true],
      [withProps('getaddrinfo ENOTFOUND nowhere', { code: 'ENOTFOUND' }), 'SftpHostUnreachable', true],
      [withProps('Timed out while waiting for handshake', { level: 'client-timeout' }), 'SftpHostUnreachable', true],
      [withProps('Keepalive timeout', { level: 'client-timeout' }), 'SftpConnectionLost', true],
      [new Error('No response from server'), 'SftpConnectionLost', true],
      [withProps('read ECONNRESET', { code: 'ECONNRESET' }), 'SftpConnectionLost', true],
      [withProps('No such file', { code: 2 }), 'SftpNoSuchFile', false],
      [withProps('Permission denied', { code: 3 }), 'SftpPermissionDenied', false],
      [withProps('Failure', { code: 4 }), 'SftpError', true],
      [withProps('No space left on device', { code: 4 }), 'SftpDiskFull', true],
      [withProps('Quota exceeded', { code: 15 }), 'SftpDiskFull', true],
      [withProps('Connection lost', { code: 7 }), 'SftpConnectionLost', true],
      [new Error('something else'), 'SftpError', true],
    ];
    for (const [err, type, retryable] of cases) {
      const mapped = toSftpError(err, ctx);
      assert.ok(mapped instanceof SftpError);
      assert.equal(mapped.type, type, err.message);
      assert.equal(mapped.retryable, retryable, err.message);
      assert.equal(SFTP_ERROR_TYPES[mapped.type], retryable);
      assert.equal(mapped.cause, err);
    }
  });

  test('messages name the operation, path and server, and say what to do', () => {
    const e = toSftpError(withProps('No such file', { code: 2 }), ctx);
    assert.match(e.message, /stat "\/upload\/x" on 127\.0\.0\.1:2222 failed: no such file/);
    assert.match(e.message, /Check the path/);
    const auth = toSftpError(withProps('All configured authentication methods failed', { level: 'client-authentication' }), ctx);
    assert.match(auth.message, /refused the login of "alice".*Check the username, the password or private key/);
  });

  test('secrets never reach a message, not even a line of a private key', () => {
    const key = `-----BEGIN ${FAKE_KEY_KIND}-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END ${FAKE_KEY_KIND}-----`;
    const err = new Error('server said: hunter2-password and b3BlbnNzaC1rZXktdjEAAAAA and passphrase s3cr3t-pp');
    const mapped = toSftpError(err, { ...ctx, secrets: ['hunter2-password', 's3cr3t-pp', key] });
    assert.ok(!mapped.message.includes('hunter2-password'));
    assert.ok(!mapped.message.includes('s3cr3t-pp'));
    assert.ok(!mapped.message.includes('b3BlbnNzaC1rZXktdjEAAAAA'));
    assert.equal(redactSecrets('a pw b', ['pw']), 'a pw b', 'too short to be a secret worth redacting');
  });

  test('an SftpError passes through unchanged', () => {
    const original = new SftpError('SftpUnsafePath', 'no');
    assert.equal(toSftpError(original, ctx), original);
  });
});
