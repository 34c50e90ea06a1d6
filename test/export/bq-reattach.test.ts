// Issue 19 items 2 and 3: a retried bqExport finds the job an earlier attempt started (by its
// deterministic id or the heartbeat) instead of deleting its output and starting a second one;
// waiting for a job holds one abort listener and a cancellation during a poll reaches job.cancel().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import type { BigQuery } from '@google-cloud/bigquery';
import { attemptJobId, createBqExport, type BqExportResult } from '../../src/export/bq-export';
import { buildActivityDeps } from '../../src/activities/deps';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, storage } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();
const query = `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`;

function lineage() {
  return { workflowExecution: { workflowId: uniqueId('wf'), runId: uniqueId('run') }, activityId: '1' };
}

async function objectGenerations(prefix: string): Promise<Record<string, string>> {
  const [files] = await storage().bucket(info.gcs.bucket).getFiles({ prefix });
  return Object.fromEntries(files.map((f) => [f.name, String(f.metadata.generation)]));
}

test('a retry after the worker died (no heartbeat) finds the finished job of attempt 1 by its id and reuses its output', async () => {
  const name = exportName('reuse');
  const config = testConfig({ exports: { [name]: { query } } });
  const deps = buildActivityDeps(config);
  const who = lineage();
  try {
    const first = (await new MockActivityEnvironment({ ...who, attempt: 1 }).run(createBqExport(deps), { exportName: name, date: DEMO_DATE })) as BqExportResult;
    assert.equal(first.job_id, attemptJobId(name, DEMO_DATE, { ...who.workflowExecution, activityId: '1' }, 1), 'the job id is derived from run, activity and attempt');
    const before = await objectGenerations(`${name}/20250108/`);
    assert.ok(Object.keys(before).length >= 1);
    const retry = (await new MockActivityEnvironment({ ...who, attempt: 2 }).run(createBqExport(deps), { exportName: name, date: DEMO_DATE })) as BqExportResult;
    assert.equal(retry.job_id, first.job_id, 'no second job');
    assert.deepEqual(await objectGenerations(`${name}/20250108/`), before, 'the output was neither deleted nor rewritten');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

/** A BigQuery whose jobs run for `runningPolls` polls; starting a job is counted. */
function fakeBigQuery(opts: { runningPolls: number; onPoll?: (n: number) => Promise<void> | void }) {
  const calls = { created: 0, polls: 0, cancelled: [] as string[], listeners: [] as number[] };
  const job = (id: string) => ({
    id,
    getMetadata: async () => {
      const n = ++calls.polls;
      calls.listeners.push(getEventListeners(Context.current().cancellationSignal, 'abort').length);
      await opts.onPoll?.(n);
      return [{ status: { state: n <= opts.runningPolls ? 'RUNNING' : 'DONE' }, statistics: { query: { totalRows: '3' } } }];
    },
    cancel: async () => {
      calls.cancelled.push(id);
      return [{}];
    },
  });
  const bigquery = {
    job,
    createQueryJob: async (o: { jobId: string }) => {
      calls.created++;
      return [job(o.jobId)];
    },
  } as unknown as BigQuery;
  return { calls, bigquery };
}

test('a retry whose attempt-1 job is still running (named in the heartbeat) waits for it: no second job, its output is not deleted', async () => {
  const name = exportName('reattach');
  const config = testConfig({ exports: { [name]: { query } } });
  const deps = buildActivityDeps(config);
  const who = lineage();
  const inFlight = `${name}/20250108/${name}_20250108-000000000000.csv`;
  await storage().bucket(info.gcs.bucket).file(inFlight).save('written by the running job', { resumable: false });
  const fake = fakeBigQuery({ runningPolls: 3 });
  const job1 = attemptJobId(name, DEMO_DATE, { ...who.workflowExecution, activityId: '1' }, 1);
  try {
    const r = (await new MockActivityEnvironment({ ...who, attempt: 2, heartbeatDetails: { job_id: job1, state: 'RUNNING' } }).run(
      createBqExport({ ...deps, bigquery: fake.bigquery }, { pollMs: 10 }),
      { exportName: name, date: DEMO_DATE },
    )) as BqExportResult;
    assert.equal(fake.calls.created, 0, 'no second job was started');
    assert.equal(r.job_id, job1);
    assert.equal(r.row_count, 3);
    const [exists] = await storage().bucket(info.gcs.bucket).file(inFlight).exists();
    assert.ok(exists, 'the running job\'s output was not deleted under it');
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('waiting for a job holds one abort listener however many polls it takes', async () => {
  const name = exportName('listeners');
  const config = testConfig({ exports: { [name]: { query } } });
  const deps = buildActivityDeps(config);
  const fake = fakeBigQuery({ runningPolls: 8 });
  try {
    await new MockActivityEnvironment({ ...lineage(), attempt: 1 }).run(createBqExport({ ...deps, bigquery: fake.bigquery }, { pollMs: 10 }), { exportName: name, date: DEMO_DATE });
    assert.equal(fake.calls.polls, 9);
    assert.equal(new Set(fake.calls.listeners.slice(1)).size, 1, `listeners per poll: ${fake.calls.listeners.join(', ')}`);
  } finally {
    await deps.sftpPool.closeAll();
  }
});

test('a cancellation that lands while the job is being polled cancels the BigQuery job', async () => {
  const name = exportName('cancelpoll');
  const config = testConfig({ exports: { [name]: { query } } });
  const deps = buildActivityDeps(config);
  const env = new MockActivityEnvironment({ ...lineage(), attempt: 1 });
  // the job would finish after 5 polls; the cancellation arrives during the 2nd poll
  const fake = fakeBigQuery({
    runningPolls: 5,
    onPoll: async (n) => {
      if (n !== 2) return;
      env.cancel();
      await new Promise((r) => setTimeout(r, 50));
    },
  });
  try {
    const err = await env.run(createBqExport({ ...deps, bigquery: fake.bigquery }, { pollMs: 10 }), { exportName: name, date: DEMO_DATE }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledFailure, `cancelled, not ${String(err)}`);
    assert.equal(fake.calls.cancelled.length, 1, 'job.cancel() was called');
    assert.equal(fake.calls.polls, 2, 'no poll after the cancellation');
  } finally {
    await deps.sftpPool.closeAll();
  }
});
