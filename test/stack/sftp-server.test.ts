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
