/**
 * Ingest I2: PostgreSQL crashes (immediate shutdown of the postmaster, by PID) mid-job and is
 * started again; the job completes with counts exactly equal to BigQuery's (days already
 * committed are kept, the day in flight was rolled back and is loaded again).
 * A private PostgreSQL, so the stack's database is never touched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { withWorker } from '../helpers/export';
import { closePostgresPools } from '../../src/postgres/client';
import { getJob } from '../../src/ingest/jobs-repo';
import { OwnPostgres } from '../ingest/own-postgres';
import { bigQueryCounts, ingestConfig, LOCATIONS_CSV, migrated, pgEventCounts, pool, startJob, tenantId, usersCsv, writeSftpFile } from '../ingest/helpers';
import { reportFigures, sleep, trials, waitFor } from './helpers/figures';

const TRIALS = trials(1);
// ten days (22,000 page_view rows in pages of 5,000): every page request makes the emulator format the
// whole result, so the job takes long enough to be interrupted mid-way without a month's cost
const START = '2025-01-01';
const END = '2025-01-10';
const pg = new OwnPostgres();
const results: { completed: boolean; rowsAtCrash: number; exact: boolean }[] = [];

before(async () => {
  await pg.init();
  await pg.start();
});

after(async () => {
  await closePostgresPools();
  await pg.stop();
  reportFigures('I2 PostgreSQL crashed and restarted mid-ingest', {
    trials: results.length,
    completed: results.filter((r) => r.completed).length,
    counts_exact: results.filter((r) => r.exact).length,
    page_view_rows_at_crash: results.map((r) => r.rowsAtCrash),
  });
});

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`I2 trial ${trial}/${TRIALS}: PostgreSQL crashes mid-job and comes back; the job completes, counts exact`, async () => {
    const tenant = tenantId('pgcrash');
    const types = ['page_view', 'purchase'] as const;
    const config = ingestConfig(tenant, { eventTypes: [...types], ingest: { page_rows: 5000 }, extra: { postgres: { url: pg.url } } });
    await migrated(config);
    writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv([['u1', 'a@example.com', 'Acme']]));
    writeSftpFile(`${config.folder}/locations_20250131.csv`, LOCATIONS_CSV);
    const record = { completed: false, rowsAtCrash: 0, exact: false };
    results.push(record);
    await withWorker(config, async (client) => {
      const handle = await startJob(client, config, tenant, { start_date: START, end_date: END });
      record.rowsAtCrash = await waitFor('page_view rows in PostgreSQL', async () => (await pgEventCounts(config, tenant, ['page_view'])).page_view || undefined, 300_000);
      await pg.crash();
      await sleep(2000);
      await pg.start();
      const job = await handle.result();
      record.completed = job.status === 'completed';
      const truth = await bigQueryCounts(START, END, types);
      assert.ok(record.rowsAtCrash < truth.page_view, `the crash came mid-load (${record.rowsAtCrash} of ${truth.page_view} page_view rows in), not after it`);
      assert.deepEqual(await pgEventCounts(config, tenant, types), truth, 'PostgreSQL holds exactly what BigQuery holds');
      assert.deepEqual(job.records_processed, { ...truth, users_processed: 1, locations_processed: 3 });
      assert.equal((await getJob(pool(config), job.job_id))?.status, 'completed');
      record.exact = true;
    });
  });
}
