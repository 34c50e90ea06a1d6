import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { utils, type ParsedKey } from 'ssh2';
import { isBcryptOpenSshKey, unlockOnThread, unlockOpenSshKey } from '../../src/sftp/key-unlock';
import { cachedPrivateKey, openPrivateKey, prepareKey } from '../../src/sftp/key-cache';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-unlock-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function keygen(name: string, args: string[], passphrase: string): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', passphrase, '-C', `comment-${name}`, '-f', file]);
  return fs.readFileSync(file, 'utf8');
}

function parsed(key: string, passphrase?: string): ParsedKey {
  const k = utils.parseKey(key, passphrase);
  assert.ok(!(k instanceof Error) && !Array.isArray(k), String(k));
  return k as ParsedKey;
}

/** the opened key is the same key: same public half, and what it signs the original's public half verifies */
function assertSameKey(opened: string, original: string, passphrase: string) {
  const a = parsed(opened);
  const b = parsed(original, passphrase);
  assert.equal(a.type, b.type);
  assert.equal(a.comment, b.comment);
  assert.deepEqual(a.getPublicSSH(), b.getPublicSSH());
  const data = Buffer.from('bq-sftp key unlock');
  const sig = a.sign(data);
  assert.ok(Buffer.isBuffer(sig));
  assert.equal(b.verify(data, sig as Buffer), true);
}

const cases: [string, string[]][] = [
  ['ed25519, aes256-ctr (the default)', ['-t', 'ed25519']],
  ['rsa 2048, aes256-ctr', ['-t', 'rsa', '-b', '2048']],
  ['ecdsa, aes256-gcm', ['-t', 'ecdsa', '-Z', 'aes256-gcm@openssh.com']],
  ['ed25519, aes128-cbc', ['-t', 'ed25519', '-Z', 'aes128-cbc']],
];

for (const [label, args] of cases) {
  test(`a passphrase-protected OpenSSH key (${label}) opens to the same key without encryption`, () => {
    const key = keygen(label.replace(/\W+/g, '_'), args, 'correct horse');
    assert.equal(isBcryptOpenSshKey(key), true);
    const opened = unlockOpenSshKey(key, 'correct horse');
    assert.ok(opened, 'opened');
    assert.equal(isBcryptOpenSshKey(opened), false, 'the opened key is not encrypted');
    assertSameKey(opened, key, 'correct horse');
  });
}

test('a wrong passphrase opens nothing (ssh2 then reports it as before)', () => {
  const key = keygen('wrong', ['-t', 'ed25519'], 'right one');
  assert.equal(unlockOpenSshKey(key, 'wrong one'), undefined);
});

test('keys without a passphrase, and text that is no OpenSSH key, are left to ssh2', () => {
  const plain = keygen('plain', ['-t', 'ed25519'], '');
  assert.equal(isBcryptOpenSshKey(plain), false);
  assert.equal(unlockOpenSshKey(plain, 'x'), undefined);
  assert.equal(isBcryptOpenSshKey('not a key'), false);
  const pem = keygen('pem', ['-t', 'rsa', '-b', '2048', '-m', 'PEM'], 'pem pass');
  assert.equal(isBcryptOpenSshKey(pem), false);
});

test('on a thread: the same key, and the event loop keeps running while bcrypt-pbkdf works', async () => {
  const key = keygen('thread', ['-t', 'ed25519', '-a', '64'], 'thread pass');
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 2);
  try {
    const opened = await unlockOnThread(key, 'thread pass');
    assert.ok(opened);
    assertSameKey(opened, key, 'thread pass');
  } finally {
    clearInterval(ticker);
  }
  // 64 rounds take hundreds of milliseconds of CPU: a timer that could not fire meanwhile means
  // the work ran on this thread
  assert.ok(ticks >= 3, `the event loop ran ${ticks} timer ticks while the key opened`);
});

test('prepareKey opens the key once for the process; a wrong passphrase caches nothing and opens nothing', async () => {
  const key = keygen('cache', ['-t', 'ed25519'], 'cache pass');
  assert.equal(cachedPrivateKey(key, 'cache pass'), undefined);
  await prepareKey(key, 'wrong');
  assert.equal(cachedPrivateKey(key, 'wrong'), undefined);
  assert.equal(await openPrivateKey(key, 'wrong'), undefined, 'ssh2 gets it and refuses it');
  await prepareKey(key, 'cache pass');
  const hit = cachedPrivateKey(key, 'cache pass');
  assert.ok(hit, 'cached by prepareKey');
  assert.deepEqual(hit.getPublicSSH(), parsed(key, 'cache pass').getPublicSSH());
  assert.equal(await openPrivateKey(key, 'cache pass'), hit, 'the same parsed key for every connection');
});

test('a key without a passphrase is parsed as ssh2 would, and cached', async () => {
  const key = keygen('nopass', ['-t', 'ed25519'], '');
  const k = await openPrivateKey(key, undefined);
  assert.ok(k);
  assert.equal(cachedPrivateKey(key, undefined), k);
});
