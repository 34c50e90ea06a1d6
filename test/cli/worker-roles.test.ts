import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { temporal } from '@temporalio/proto';
import { clientFor } from '../../src/cli/config-option';
import { repoRoot } from '../../src/stack/layout';
import { PingWorkflow } from '../../src/workflows';
import { testConfig } from '../helpers/config';
import { uniqueId } from '../helpers/stack';
import { WorkerProcess } from '../faults/helpers/worker-process';

test('bq-sftp worker --only workflows / --only activities: a run waits for the missing half, then completes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-roles-'));
  const config = testConfig();
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(config));
  const client = await clientFor(config);
  const workers: WorkerProcess[] = [];
  try {
    workers.push(await WorkerProcess.start({ configPath, logPath: path.join(dir, 'workflows.log'), args: ['--only', 'workflows'], env: { BQSFTP_LOG_LEVEL: 'WARN' } }));
    assert.match(workers[0].log(), /bq-sftp worker \(workflows only\) polling task queue/);
    const handle = await client.workflow.start(PingWorkflow, { taskQueue: config.temporal.task_queue, workflowId: uniqueId('roles'), args: ['halves'] });

    // the workflow half schedules the activity; nobody runs it while no activity worker polls
    let pending: Awaited<ReturnType<typeof handle.describe>>['raw']['pendingActivities'] = [];
    for (let i = 0; i < 100 && !pending?.length; i++) {
      pending = (await handle.describe()).raw.pendingActivities;
      if (!pending?.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(pending?.length, 1, 'the ping activity is scheduled');
    await new Promise((r) => setTimeout(r, 1000));
    const still = (await handle.describe()).raw.pendingActivities ?? [];
    assert.equal(still.length, 1);
    assert.equal(still[0].state, temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED, 'a workflows-only worker does not run activities');

    workers.push(await WorkerProcess.start({ configPath, logPath: path.join(dir, 'activities.log'), args: ['--only', 'activities'], env: { BQSFTP_LOG_LEVEL: 'WARN' } }));
    assert.match(workers[1].log(), /bq-sftp worker \(activities only\) polling task queue/);
    const noResult = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no result within 60 s: the activities-only worker did not run the activity')), 60_000).unref());
    assert.equal(await Promise.race([handle.result(), noResult]), `pong: halves (activity ping on ${config.temporal.task_queue})`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await client.connection.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bq-sftp worker --only <something else> exits 2 naming the option and the choices', () => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'worker', '--only', 'transfers'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--only <half>/);
  assert.match(r.stderr, /activities, workflows/);
  assert.equal(r.stdout, '');
});
