/** connectSftp and SftpSession against the stack's OpenSSH server, for both kinds of user. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connectSftp, isSftpError, SftpError, type SftpSession } from '../../src/sftp';
import { stack } from '../helpers/stack';
import { endpointFor, freshRemoteDir, localPath, removeRemoteDir, USER_KINDS } from './helpers/endpoints';

const info = stack();

async function rejectsWithType(p: Promise<unknown>, type: string): Promise<SftpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SftpError, `expected an SftpError, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    return err;
  }
  assert.fail(`expected ${type}`);
}

for (const kind of USER_KINDS) {
  void describe(`session as the ${kind} user`, () => {
    let s: SftpSession;
    const dir = freshRemoteDir(kind);
    after(async () => {
      await s?.close();
      removeRemoteDir(kind, dir);
    });

    test('connects with the pinned key and reports the server, host key and extensions', async () => {
      s = await connectSftp(endpointFor(kind));
      assert.ok(s.alive);
      assert.equal(s.hostKey.fingerprint, info.sftp.hostKeyFingerprint);
      assert.equal(s.hostKey.knownHostsLine, info.sftp.knownHostsLine);
      assert.match(s.serverBanner ?? '', /OpenSSH/);
      assert.equal(s.serverExtensions['posix-rename@openssh.com'], '1');
      assert.ok(s.hasPosixRename);
    });

    test('mkdirp, list (types, sizes, mtimes in one pass), stat, exists', async () => {
      await s.mkdirp(`${dir}/a/b/c`);
      await s.mkdirp(`${dir}/a/b/c`); // again: fine
      fs.writeFileSync(localPath(kind, `${dir}/a/file.bin`), Buffer.alloc(1234, 7));
      fs.symlinkSync('file.bin', localPath(kind, `${dir}/a/link`));
      const entries = await s.list(`${dir}/a`);
      assert.deepEqual(
        entries.map((e) => [e.name, e.type]),
        [['b', 'dir'], ['file.bin', 'file'], ['link', 'link']],
      );
      const file = entries.find((e) => e.name === 'file.bin')!;
      assert.equal(file.size, 1234);
      assert.equal(Math.floor(file.mtime.getTime() / 1000), Math.floor(fs.statSync(localPath(kind, `${dir}/a/file.bin`)).mtimeMs / 1000));
      assert.equal((await s.stat(`${dir}/a/file.bin`)).size, 1234);
      assert.equal((await s.stat(`${dir}/a/b`)).type, 'dir');
      assert.equal(await s.exists(`${dir}/a/b/c`), true);
      assert.equal(await s.exists(`${dir}/nope`), false);
      await rejectsWithType(s.mkdirp(`${dir}/a/file.bin/sub`), 'SftpError');
    });

    test('rename replaces the target (posix-rename); remove; removeRecursive never follows links', async () => {
      fs.writeFileSync(localPath(kind, `${dir}/x`), 'new');
      fs.writeFileSync(localPath(kind, `${dir}/y`), 'old');
      await s.rename(`${dir}/x`, `${dir}/y`);
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/y`), 'utf8'), 'new');
      assert.ok(!fs.existsSync(localPath(kind, `${dir}/x`)));
      await s.remove(`${dir}/y`);
      assert.ok(!fs.existsSync(localPath(kind, `${dir}/y`)));
      fs.mkdirSync(localPath(kind, `${dir}/target`));
      fs.writeFileSync(localPath(kind, `${dir}/target/keep.txt`), 'k');
      fs.symlinkSync(`${dir}/target`, localPath(kind, `${dir}/a/b/to-target`));
      fs.symlinkSync(`${dir}/target`, localPath(kind, `${dir}/top-link`));
      await s.removeRecursive(`${dir}/a`);
      assert.ok(!fs.existsSync(localPath(kind, `${dir}/a`)));
      await s.removeRecursive(`${dir}/top-link`);
      assert.ok(!fs.existsSync(localPath(kind, `${dir}/top-link`)));
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/target/keep.txt`), 'utf8'), 'k', 'links are removed, not followed');
      assert.equal((await s.lstat(`${dir}/target`)).type, 'dir');
      assert.ok(fs.existsSync(localPath(kind, dir)));
    });

    test('renameNoReplace never replaces: it refuses an existing target and keeps both files', async () => {
      fs.writeFileSync(localPath(kind, `${dir}/claim-src`), 'mine');
      fs.writeFileSync(localPath(kind, `${dir}/claim-dst`), 'theirs');
      await assert.rejects(s.renameNoReplace(`${dir}/claim-src`, `${dir}/claim-dst`), SftpError);
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/claim-dst`), 'utf8'), 'theirs');
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/claim-src`), 'utf8'), 'mine');
      await s.renameNoReplace(`${dir}/claim-src`, `${dir}/claim-free`);
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/claim-free`), 'utf8'), 'mine');
    });

    test('many requests in flight on one session raise no listener-leak warning', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        await Promise.all(Array.from({ length: 40 }, () => s.stat(dir)));
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings.filter((n) => n === 'MaxListenersExceededWarning'), []);
    });

    test('createReadStream and download return the exact bytes', async () => {
      const data = crypto.randomBytes(300_001);
      fs.writeFileSync(localPath(kind, `${dir}/r.bin`), data);
      const chunks: Buffer[] = [];
      for await (const c of s.createReadStream(`${dir}/r.bin`)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(data));
      const local = `${fs.mkdtempSync('/tmp/bq-sftp-dl-')}/r.bin`;
      assert.equal(await s.download(`${dir}/r.bin`, local), data.length);
      assert.ok(fs.readFileSync(local).equals(data));
      assert.ok(!fs.existsSync(`${local}.partial`));
      fs.rmSync(path.dirname(local), { recursive: true });
    });

    test('missing files and forbidden places give typed, non-retryable errors', async () => {
      const missing = await rejectsWithType(s.stat(`${dir}/missing`), 'SftpNoSuchFile');
      assert.equal(missing.retryable, false);
      assert.match(missing.message, new RegExp(`${dir}/missing`));
      const read = s.createReadStream(`${dir}/missing`);
      await rejectsWithType((async () => { for await (const _ of read) void _; })(), 'SftpNoSuchFile');
      // the jail's root is root-owned: the user may not create anything there
      const denied = await rejectsWithType(s.mkdirp('/forbidden-dir'), 'SftpPermissionDenied');
      assert.equal(denied.retryable, false);
      await rejectsWithType(s.download(`${dir}/missing`, '/tmp/never'), 'SftpNoSuchFile');
    });

    test('isUploadComplete: a file still growing is not complete; a finished one is', async () => {
      const local = localPath(kind, `${dir}/growing.csv`);
      fs.writeFileSync(local, 'header\n');
      let rows = 0;
      const writer = setInterval(() => fs.appendFileSync(local, `row ${rows++}\n`), 50);
      try {
        assert.equal(await s.isUploadComplete(`${dir}/growing.csv`, { delayMs: 400 }), false);
      } finally {
        clearInterval(writer);
      }
      assert.ok(rows > 0);
      assert.equal(await s.isUploadComplete(`${dir}/growing.csv`, { delayMs: 400 }), true);
      await rejectsWithType(s.isUploadComplete(`${dir}/never-uploaded.csv`, { delayMs: 10 }), 'SftpNoSuchFile');
    });

    test('after close, operations fail fast with SftpConnectionLost', async () => {
      await s.close();
      assert.equal(s.alive, false);
      const started = Date.now();
      const err = await rejectsWithType(s.list(dir), 'SftpConnectionLost');
      assert.equal(err.retryable, true);
      assert.ok(Date.now() - started < 1000);
    });
  });
}

void describe('connecting', () => {
  test('a known_hosts line works as the pin too', async () => {
    const s = await connectSftp(endpointFor('password', { hostKey: info.sftp.knownHostsLine }));
    assert.equal(s.algorithms?.serverHostKey, 'ssh-ed25519');
    await s.close();
  });

  test('the cipher list is used', async () => {
    for (const cipher of ['aes256-ctr', 'chacha20-poly1305@openssh.com']) {
      const s = await connectSftp(endpointFor('key + passphrase', { ciphers: [cipher] }));
      assert.equal(s.algorithms?.cipher, cipher);
      await s.close();
    }
    await rejectsWithType(connectSftp(endpointFor('password', { ciphers: ['rot13-cbc'] })), 'SftpConfigInvalid');
  });

  test('without a pinned host key the connection is refused, pointing at `bq-sftp sftp check`', async () => {
    const err = await rejectsWithType(connectSftp(endpointFor('password', { hostKey: undefined })), 'SftpHostKeyNotPinned');
    assert.equal(err.retryable, false);
    assert.match(err.message, /bq-sftp sftp check/);
    assert.match(err.message, /host_key/);
    const s = await connectSftp(endpointFor('password', { hostKey: undefined, insecureSkipHostKeyCheck: true }));
    assert.equal(s.hostKey.fingerprint, info.sftp.hostKeyFingerprint);
    await s.close();
  });

  test('a wrong password is SftpAuthFailed, and the password is not in the message', async () => {
    const password = 'Wrong-Password-1234567';
    const err = await rejectsWithType(connectSftp(endpointFor('password', { password })), 'SftpAuthFailed');
    assert.equal(err.retryable, false);
    assert.ok(!err.message.includes(password));
    assert.ok(!err.message.includes(info.sftp.passwordUser.password));
  });

  test('a wrong passphrase or no passphrase is SftpAuthFailed without the secret', async () => {
    const err = await rejectsWithType(connectSftp(endpointFor('key + passphrase', { passphrase: 'not-the-passphrase' })), 'SftpAuthFailed');
    assert.ok(!err.message.includes('not-the-passphrase'));
    assert.ok(!err.message.includes('PRIVATE KEY'));
    await rejectsWithType(connectSftp(endpointFor('key + passphrase', { passphrase: undefined })), 'SftpAuthFailed');
  });

  test('the right key for the wrong user is refused', async () => {
    await rejectsWithType(connectSftp(endpointFor('key + passphrase', { username: info.sftp.passwordUser.username })), 'SftpAuthFailed');
  });

  test('nothing listening is SftpHostUnreachable (retryable)', async () => {
    const err = await rejectsWithType(connectSftp(endpointFor('password', { port: 1 })), 'SftpHostUnreachable');
    assert.equal(err.retryable, true);
    assert.match(err.message, /127\.0\.0\.1:1/);
  });

  test('a server that never speaks SSH hits the handshake timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await rejectsWithType(connectSftp(endpointFor('password', { port, readyTimeoutMs: 500 })), 'SftpHostUnreachable');
      assert.match(err.message, /handshake/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      silent.close();
    }
  });

  test('missing credentials are a config error before any connection', async () => {
    const err = await rejectsWithType(connectSftp(endpointFor('password', { password: undefined })), 'SftpConfigInvalid');
    assert.ok(isSftpError(err));
  });
});
