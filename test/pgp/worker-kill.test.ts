/**
 * An encrypted delivery survives a worker SIGKILL mid-file: a new worker process finishes the
 * run, every file under its final name decrypts with gpg to the GCS object's bytes (also the
 * ones published before the kill), and no half-encrypted file is ever under a final name.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { TransferSummary } from '../../src/export/transfer-files';
import { clientFor } from '../../src/cli/config-option';
import { testConfig } from '../helpers/config';
import { exportName, localSftpPath, storage } from '../helpers/export';
import { sha256, stack, uniqueId } from '../helpers/stack';
import { sleep, waitFor } from '../faults/helpers/figures';
import { FAULT_DATE, removeLocalFolder, seedObjects, type Seeded } from '../faults/helpers/transfer-fixture';
import { WorkerProcess } from '../faults/helpers/worker-process';
import { gpgParty, trust } from './gpg';

const FILES = 4;
const SIZE = 12 * 1024 * 1024;
const info = stack();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-pgp-kill-'));
const us = gpgParty('us', { passphrase: 'kill-test' });
const partner = gpgParty('partner');
trust(partner, us);

let seeded: Seeded;
let client: Client;

before(async () => {
  seeded = await seedObjects(storage(), info.gcs.bucket, `pgp/${uniqueId('kill')}/20250108`, FILES, SIZE);
  client = await clientFor(testConfig());
});

after(async () => {
  await client?.connection.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** final names → whether gpg decrypts them to the object's bytes (and verifies our signature) */
function decryptsToGcs(folder: string, name: string): boolean {
  const plainName = name.slice(0, -'.pgp'.length);
  const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], fs.readFileSync(localSftpPath(`${folder}/${name}`)));
  return r.status === 0 && sha256(r.stdout) === seeded.sha.get(plainName) && r.stderr.includes(`VALIDSIG ${us.fingerprint}`);
}

test('SIGKILL of the worker mid-file: the run finishes and every published file decrypts', async () => {
  const name = exportName('pgpkill');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F', pgp: { recipients: [partner.publicArmored], signing_private_key: us.secretArmored, passphrase: us.passphrase } } } });
  const folder = config.sftp!.directory;
  const configPath = path.join(tmp, `${name}.json`);
  const { password, ...sftpWithoutSecret } = config.sftp!;
  const raw = JSON.parse(JSON.stringify({ ...config, sftp: sftpWithoutSecret })) as { exports: Record<string, { pgp: Record<string, unknown> }>; connections?: unknown };
  delete raw.connections; // the resolved config lists the top-level block as connection "default" too
  // keys by reference, as in production: the config file holds no secret
  raw.exports[name].pgp.signing_private_key = { env: 'PGP_SIGNING_KEY' };
  raw.exports[name].pgp.passphrase = { env: 'PGP_PASSPHRASE' };
  fs.writeFileSync(configPath, JSON.stringify(raw));
  const env = { SFTP_PASSWORD: password!, BQSFTP_LOG_LEVEL: 'WARN', PGP_SIGNING_KEY: us.secretArmored, PGP_PASSPHRASE: us.passphrase };
  const logPath = path.join(tmp, `${name}.log`);

  let worker = await WorkerProcess.start({ configPath, logPath, env });
  try {
    const handle = await client.workflow.start('TransferWorkflow', {
      taskQueue: config.temporal.task_queue,
      workflowId: `pgp-kill-${name}`,
      args: [{ exportName: name, date: FAULT_DATE, gcsPath: seeded.gcsPath }],
    });
    const dir = localSftpPath(folder);
    const list = () => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    await waitFor('the first encrypted bytes on SFTP', () => list().some((n) => n.endsWith('.pgp.partial')) || undefined);
    await sleep(Math.floor(Math.random() * 1500));
    await worker.kill();
    await sleep(300);
    const atKill = list();
    const finalsAtKill = atKill.filter((n) => n.endsWith('.pgp'));
    for (const f of finalsAtKill) assert.ok(decryptsToGcs(folder, f), `${f}, published before the kill, decrypts`);
    assert.ok(atKill.every((n) => n.endsWith('.pgp') || n.endsWith('.pgp.partial')), `only encrypted names: ${atKill.join(', ')}`);

    worker = await WorkerProcess.start({ configPath, logPath, env });
    const summary = (await handle.result()) as TransferSummary;
    const after = list().sort();
    assert.deepEqual(after, [...seeded.sha.keys()].map((n) => `${n}.pgp`).sort(), 'every file, encrypted, and no temp file left');
    for (const f of after) assert.ok(decryptsToGcs(folder, f), `${f} decrypts to the GCS object's bytes with our signature`);
    assert.equal(summary.files_skipped.length + summary.files_transferred, FILES);
    assert.equal(summary.pgp?.files.length, FILES, 'every file has its record, the skipped ones too');
    assert.ok(!worker.log().includes(us.passphrase) && !worker.log().includes('PRIVATE KEY'), 'no secret in the worker log');
    // the history, payloads decoded: fingerprints at most, never a key or the passphrase
    const texts: string[] = [];
    const walk = (v: unknown): void => {
      if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      else if (typeof v === 'string') texts.push(v);
    };
    walk(await handle.fetchHistory());
    const history = texts.join('\n');
    assert.ok(history.includes(us.fingerprint), 'positive control: the signer fingerprint is in the summary');
    assert.ok(!history.includes(us.passphrase) && !history.includes('PRIVATE KEY') && !history.includes(us.secretArmored.split('\n')[3]), 'no key or passphrase in the history');
  } finally {
    await worker.stop();
    removeLocalFolder(folder);
  }
});
