/**
 * R2: our sshd is killed (listener and every session) mid-upload and started again a second
 * later; the transfer attempt fails, is retried, and the run completes with identical bytes.
 * A private copy of the stack's sshd (same host key, users and jails) so the shared one is never touched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TransferSummary } from '../../src/activities';
import { testConfig } from '../helpers/config';
import { exportName, storage, withWorker } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';
import { OwnSshd } from '../sftp/helpers/own-sshd';
import { reportFigures, sleep, trials, waitFor } from './helpers/figures';
import { activityAttempts, compareWithGcs, FAULT_DATE, folderState, removeLocalFolder, seedObjects, type Seeded } from './helpers/transfer-fixture';

const TRIALS = trials(3);
const info = stack();
const sshd = new OwnSshd();
let seeded: Seeded;
const results: { completed: boolean; publishedAtRestart: number; attempts: number; differing: number; partialsLeft: number }[] = [];

before(async () => {
  await sshd.start();
  seeded = await seedObjects(storage(), info.gcs.bucket, `faults/${uniqueId('r2')}/20250108`, 20, 8 * 1024 * 1024);
});

after(async () => {
  await sshd.stop();
  reportFigures('R2 sshd restarted mid-upload', {
    trials: results.length,
    completed: results.filter((r) => r.completed).length,
    files_differing: results.reduce((n, r) => n + r.differing, 0),
    partials_left: results.reduce((n, r) => n + r.partialsLeft, 0),
    published_at_restart: results.map((r) => r.publishedAtRestart),
    transfer_attempts: results.map((r) => r.attempts),
  });
});

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`R2 trial ${trial}/${TRIALS}: sshd killed and restarted mid-upload, the activity retries and the run completes`, async () => {
    const name = exportName('r2');
    const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F' } }, sftp: { port: sshd.port } });
    const folder = config.sftp!.directory;
    const record = { completed: false, publishedAtRestart: 0, attempts: 0, differing: 0, partialsLeft: 0 };
    results.push(record);
    try {
      await withWorker(config, async (client) => {
        const handle = await client.workflow.start('TransferWorkflow', {
          taskQueue: config.temporal.task_queue,
          workflowId: `faults-r2-${name}`,
          args: [{ exportName: name, date: FAULT_DATE, gcsPath: seeded.gcsPath }],
        });
        await waitFor('the first bytes on SFTP', () => folderState(folder).partials.length > 0 || undefined);
        await sleep(Math.floor(Math.random() * 600));
        await sshd.kill();
        record.publishedAtRestart = folderState(folder).finals.size;
        await sleep(1000);
        await sshd.start();

        const summary = (await handle.result()) as TransferSummary;
        const outcome = compareWithGcs(folder, seeded);
        record.attempts = (await activityAttempts(handle)).transferFiles ?? 0;
        Object.assign(record, { completed: true, differing: outcome.differing.length, partialsLeft: outcome.partials.length });

        assert.deepEqual(outcome.differing, [], 'every file on SFTP has the bytes of its GCS object');
        assert.deepEqual(outcome.partials, [], 'no .partial left');
        assert.deepEqual(outcome.extra, []);
        if (record.publishedAtRestart < seeded.sha.size) assert.ok(record.attempts >= 2, 'the interrupted attempt was retried');
        assert.equal(summary.files_skipped.length + summary.files_transferred, seeded.sha.size);
      });
    } finally {
      removeLocalFolder(folder);
    }
  });
}
