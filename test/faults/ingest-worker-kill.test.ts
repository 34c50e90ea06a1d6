/**
 * Ingest I1: the worker process is SIGKILLed mid-job (by PID); a new worker process takes the job
 * over — it is not left "processing" — and it completes with counts exactly equal to BigQuery's;
 * the interrupted event load resumed after its last committed day.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clientFor } from '../../src/cli/config-option';
import { closePostgresPools } from '../../src/postgres/client';
import { getJob } from '../../src/ingest/jobs-repo';
import { bigQueryCounts, ingestConfig, LOCATIONS_CSV, migrated, pgEventCounts, pool, startJob, tenantId, usersCsv, writeSftpFile } from '../ingest/helpers';
import { reportFigures, sleep, trials, waitFor } from './helpers/figures';
import { WorkerProcess } from './helpers/worker-process';

const TRIALS = trials(1);
// ten days (22,000 page_view rows in pages of 5,000): every page request makes the emulator format the
// whole result, so the job takes long enough to be interrupted mid-way without a month's cost
const START = '2025-01-01';
const END = '2025-01-10';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-i1-'));
const results: { completed: boolean; rowsAtKill: number; exact: boolean; attempts: number }[] = [];

after(async () => {
  await closePostgresPools();
  fs.rmSync(tmp, { recursive: true, force: true });
  reportFigures('I1 worker SIGKILL mid-ingest', {
    trials: results.length,
    completed: results.filter((r) => r.completed).length,
    counts_exact: results.filter((r) => r.exact).length,
    page_view_rows_at_kill: results.map((r) => r.rowsAtKill),
    page_view_attempts: results.map((r) => r.attempts),
  });
});

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`I1 trial ${trial}/${TRIALS}: worker SIGKILLed mid-job, another worker completes it, counts exact`, async () => {
    const tenant = tenantId('kill');
    const types = ['page_view', 'purchase'] as const;
    const config = ingestConfig(tenant, { eventTypes: [...types], ingest: { page_rows: 5000 } });
    await migrated(config);
    writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv([['u1', 'a@example.com', 'Acme']]));
    writeSftpFile(`${config.folder}/locations_20250131.csv`, LOCATIONS_CSV);
    const configPath = path.join(tmp, `${tenant}.json`);
    const { folder: _folder, ...raw } = config;
    fs.writeFileSync(configPath, JSON.stringify(raw), { mode: 0o600 });
    const logPath = path.join(tmp, `${tenant}.log`);
    const env = { BQSFTP_LOG_LEVEL: 'WARN' };
    const record = { completed: false, rowsAtKill: 0, exact: false, attempts: 0 };
    results.push(record);
    const client = await clientFor(config);
    let worker = await WorkerProcess.start({ configPath, logPath, env });
    try {
      const handle = await startJob(client, config, tenant, { start_date: START, end_date: END });
      record.rowsAtKill = await waitFor('page_view rows in PostgreSQL', async () => (await pgEventCounts(config, tenant, ['page_view'])).page_view || undefined, 300_000);
      await worker.kill();
      const atKill = await getJob(pool(config), handle.workflowId);
      assert.equal(atKill?.status, 'processing', 'the record says processing while no worker runs');
      await sleep(500);
      worker = await WorkerProcess.start({ configPath, logPath, env });
      const job = await handle.result();
      record.completed = job.status === 'completed';
      const truth = await bigQueryCounts(START, END, types);
      assert.deepEqual(await pgEventCounts(config, tenant, types), truth, 'PostgreSQL holds exactly what BigQuery holds');
      assert.deepEqual(job.records_processed, { ...truth, users_processed: 1, locations_processed: 3 });
      assert.equal((await getJob(pool(config), job.job_id))?.status, 'completed');
      record.exact = true;
      const { events } = await handle.fetchHistory();
      record.attempts = Math.max(0, ...(events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1));
      assert.ok(record.attempts >= 2, 'an activity attempt was retried after the kill');
    } finally {
      await worker.kill();
      await client.connection.close();
    }
  });
}
