/**
 * Encrypting while streaming keeps the worker's memory flat: a real `bq-sftp worker` process
 * sends one 256 MiB object unencrypted and then encrypted + signed, and its peak RSS during the
 * encrypted transfer stays within 50 MB of the unencrypted one (VmHWM, reset before each). A
 * writer that held the file, or a key unlock that builds its S2K input in memory (65 MB per key
 * with GnuPG's defaults), would not. The speed is the bench's business (P9), not this test's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { clientFor } from '../../src/cli/config-option';
import { testConfig } from '../helpers/config';
import { exportName, localSftpPath, storage } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';
import { FAULT_DATE, removeLocalFolder, seedObjects, type Seeded } from '../faults/helpers/transfer-fixture';
import { WorkerProcess } from '../faults/helpers/worker-process';
import { gpgParty, trust } from './gpg';

const SIZE = 256 * 1024 * 1024;
const info = stack();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-pgp-mem-'));
const us = gpgParty('us', { passphrase: 'memory-test' });
const partner = gpgParty('partner');
trust(partner, us);

let seeded: Seeded;
let client: Client;

before(async () => {
  seeded = await seedObjects(storage(), info.gcs.bucket, `pgp/${uniqueId('mem')}/20250108`, 1, SIZE);
  client = await clientFor(testConfig());
});

after(async () => {
  await client?.connection.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const peakMb = (pid: number) => Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test('a 256 MiB object encrypted + signed while streaming: worker peak RSS within 50 MB of the unencrypted transfer, and gpg decrypts it', async () => {
  const enc = exportName('pgpmem');
  const plain = exportName('plainmem');
  const pgp = { recipients: [partner.publicArmored], signing_private_key: us.secretArmored, passphrase: us.passphrase };
  const config = testConfig({ exports: { [enc]: { query: 'SELECT 1', file_prefix: 'F', pgp }, [plain]: { query: 'SELECT 1', file_prefix: 'F' } } });
  const { password, ...sftpWithoutSecret } = config.sftp!;
  const raw = JSON.parse(JSON.stringify({ ...config, sftp: sftpWithoutSecret })) as { exports: Record<string, { pgp: Record<string, unknown> }>; connections?: unknown };
  delete raw.connections; // the resolved config lists the top-level block as connection "default" too
  // keys by reference, as in production: the config file holds no secret
  raw.exports[enc].pgp.signing_private_key = { env: 'PGP_SIGNING_KEY' };
  raw.exports[enc].pgp.passphrase = { env: 'PGP_PASSPHRASE' };
  const configPath = path.join(tmp, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(raw));
  const worker = await WorkerProcess.start({
    configPath,
    logPath: path.join(tmp, 'worker.log'),
    env: { SFTP_PASSWORD: password!, BQSFTP_LOG_LEVEL: 'WARN', PGP_SIGNING_KEY: us.secretArmored, PGP_PASSPHRASE: us.passphrase },
  });
  const folder = localSftpPath(config.sftp!.directory);
  const run = async (name: string, i: number) => {
    fs.rmSync(folder, { recursive: true, force: true });
    fs.writeFileSync(`/proc/${worker.pid}/clear_refs`, '5');
    const handle = await client.workflow.start('TransferWorkflow', {
      taskQueue: config.temporal.task_queue,
      workflowId: `pgp-mem-${name}-${i}`,
      args: [{ exportName: name, date: FAULT_DATE, gcsPath: seeded.gcsPath }],
    });
    await handle.result();
    return peakMb(worker.pid);
  };
  try {
    await run(plain, 0); // a fresh worker's first run also loads its workflow code: not the baseline
    const plainPeak = await run(plain, 1);
    const encryptedPeak = await run(enc, 2);
    const [objectName, sha] = [...seeded.sha.entries()][0];
    const published = path.join(folder, `${objectName}.pgp`);
    const decrypted = execFileSync('sh', ['-c', `gpg --batch --no-tty --trust-model always --decrypt '${published}' 2>/dev/null | sha256sum`], {
      env: { ...process.env, GNUPGHOME: partner.home },
      encoding: 'utf8',
    }).split(' ')[0];
    assert.equal(decrypted, sha, 'gpg decrypts the published file to the object');
    assert.ok(encryptedPeak <= plainPeak + 50, `peak RSS encrypted ${encryptedPeak.toFixed(0)} MB vs unencrypted ${plainPeak.toFixed(0)} MB: within 50 MB`);
  } finally {
    await worker.stop();
    removeLocalFolder(config.sftp!.directory);
  }
});
