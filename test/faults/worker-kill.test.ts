/**
 * R1: the worker is SIGKILLed at a random moment while `transferFiles` moves 20 files; a new
 * worker process starts and the run completes: every file byte-identical to GCS, no `.partial`
 * left, and files already published before the kill are not sent again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { TransferSummary } from '../../src/activities';
import { clientFor } from '../../src/cli/config-option';
import { testConfig } from '../helpers/config';
import { exportName, storage } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';
import { reportFigures, sleep, trials, waitFor } from './helpers/figures';
import { activityAttempts, compareWithGcs, FAULT_DATE, folderState, removeLocalFolder, seedObjects, sentAgain, type Seeded } from './helpers/transfer-fixture';
import { WorkerProcess } from './helpers/worker-process';

const FILES = 20;
const SIZE = 12 * 1024 * 1024;
const TRIALS = trials(5);
const info = stack();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-r1-'));

let seeded: Seeded;
let client: Client;
interface Trial { completed: boolean; publishedAtKill: number; partialsAtKill: number; sentAgain: number; differing: number; partialsLeft: number; skipped: number; attempts: number }
const results: Trial[] = [];

before(async () => {
  seeded = await seedObjects(storage(), info.gcs.bucket, `faults/${uniqueId('r1')}/20250108`, FILES, SIZE);
  client = await clientFor(testConfig());
});

after(async () => {
  await client?.connection.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  reportFigures('R1 worker SIGKILL during transferFiles', {
    trials: results.length,
    completed: results.filter((r) => r.completed).length,
    files_differing: results.reduce((n, r) => n + r.differing, 0),
    partials_left: results.reduce((n, r) => n + r.partialsLeft, 0),
    files_sent_again_in_full: results.reduce((n, r) => n + r.sentAgain, 0),
    max_sent_again_per_kill: Math.max(0, ...results.map((r) => r.sentAgain)),
    published_at_kill: results.map((r) => r.publishedAtKill),
    transfer_attempts: results.map((r) => r.attempts),
  });
});

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`R1 trial ${trial}/${TRIALS}: SIGKILL mid-transfer, a new worker finishes the run`, async () => {
    const name = exportName('r1');
    const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'F' } } });
    const folder = config.sftp!.directory;
    const configPath = path.join(tmp, `${name}.json`);
    const { password, ...sftpWithoutSecret } = config.sftp!;
    fs.writeFileSync(configPath, JSON.stringify({ ...config, sftp: sftpWithoutSecret }));
    const env = { SFTP_PASSWORD: password!, BQSFTP_LOG_LEVEL: 'WARN' };
    const logPath = path.join(tmp, `${name}.log`);

    const record: Trial = { completed: false, publishedAtKill: 0, partialsAtKill: 0, sentAgain: 0, differing: 0, partialsLeft: 0, skipped: 0, attempts: 0 };
    results.push(record);
    let worker = await WorkerProcess.start({ configPath, logPath, env });
    try {
      const handle = await client.workflow.start('TransferWorkflow', {
        taskQueue: config.temporal.task_queue,
        workflowId: `faults-r1-${name}`,
        args: [{ exportName: name, date: FAULT_DATE, gcsPath: seeded.gcsPath }],
      });
      await waitFor('the first bytes on SFTP', () => folderState(folder).partials.length > 0 || undefined);
      await sleep(Math.floor(Math.random() * 1200));
      await worker.kill();
      await sleep(300); // requests the server had already received are carried out
      const atKill = folderState(folder);

      worker = await WorkerProcess.start({ configPath, logPath, env });
      const summary = (await handle.result()) as TransferSummary;
      const outcome = compareWithGcs(folder, seeded);
      const again = sentAgain(atKill, folderState(folder));
      const attempts = (await activityAttempts(handle)).transferFiles ?? 0;
      Object.assign(record, {
        completed: true,
        publishedAtKill: atKill.finals.size,
        partialsAtKill: atKill.partials.length,
        sentAgain: again.length,
        differing: outcome.differing.length,
        partialsLeft: outcome.partials.length,
        skipped: summary.files_skipped.length,
        attempts,
      });

      assert.deepEqual(outcome.differing, [], 'every file on SFTP has the bytes of its GCS object');
      assert.deepEqual(outcome.partials, [], 'no .partial left');
      assert.deepEqual(outcome.extra, []);
      assert.ok(again.length <= 1, `files published before the kill and sent again: ${again.join(', ')}`);
      if (atKill.finals.size < FILES) assert.ok(attempts >= 2, 'the killed attempt was retried');
      assert.equal(summary.files_skipped.length + summary.files_transferred, FILES);
    } finally {
      await worker.stop();
      removeLocalFolder(folder);
    }
  });
}
