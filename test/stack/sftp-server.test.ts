import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();

const users = {
  password: () => ({ username: info.sftp.passwordUser.username, password: info.sftp.passwordUser.password }),
  'key + passphrase': () => ({
    username: info.sftp.keyUser.username,
    privateKey: fs.readFileSync(info.sftp.keyUser.privateKeyPath),
    passphrase: info.sftp.keyUser.passphrase,
  }),
};

for (const [kind, auth] of Object.entries(users)) {
  test(`SFTP upload, listing and download as the ${kind} user`, async () => {
    const sftp = new SftpClient();
    await sftp.connect({ host: info.sftp.host, port: info.sftp.port, ...auth() });
    const dir = `/upload/${uniqueId('stack')}`;
    try {
      await sftp.mkdir(dir);
      const data = Buffer.from(`hello from ${kind}\n`.repeat(1000));
      await sftp.put(data, `${dir}/a.txt`);
      const listing = await sftp.list(dir);
      assert.deepEqual(listing.map((e) => [e.name, e.size]), [['a.txt', data.length]]);
      const back = (await sftp.get(`${dir}/a.txt`)) as Buffer;
      assert.ok(back.equals(data));
      const user = kind === 'password' ? info.sftp.passwordUser : info.sftp.keyUser;
      // the user is jailed: /upload inside the jail is <localRoot>/upload on this machine
      assert.ok(fs.readFileSync(path.join(user.localRoot, dir, 'a.txt')).equals(data));
      await sftp.rmdir(dir, true);
    } finally {
      await sftp.end();
    }
  });
}

test('SFTP refuses a wrong password', async () => {
  const sftp = new SftpClient();
  await assert.rejects(
    sftp.connect({ host: info.sftp.host, port: info.sftp.port, username: info.sftp.passwordUser.username, password: 'wrong-password', readyTimeout: 10_000 }),
    /authentication/i,
  );
});

test("a second set-up without stack.json (an `up` that failed half-way) keeps the key and its passphrase paired", async () => {
  const { prepareSshd } = await import('../../src/stack/sshd');
  const { stackLayout } = await import('../../src/stack/layout');
  const os = await import('node:os');
  const { execFileSync } = await import('node:child_process');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-sshd-prep-'));
  try {
    const layout = stackLayout({ ...process.env, BQSFTP_STACK_DIR: stateDir });
    const first = prepareSshd(layout);
    const second = prepareSshd(layout); // no previous passphrase given, as after a failed `up`
    assert.equal(second.passphrase, first.passphrase);
    execFileSync('ssh-keygen', ['-y', '-f', second.privateKeyPath, '-P', second.passphrase], { stdio: 'ignore' });
    // a key whose passphrase was lost is replaced, never kept with a passphrase that cannot open it
    fs.rmSync(`${second.privateKeyPath}.passphrase`);
    const third = prepareSshd(layout);
    execFileSync('ssh-keygen', ['-y', '-f', third.privateKeyPath, '-P', third.passphrase], { stdio: 'ignore' });
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
