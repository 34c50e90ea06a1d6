import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { withWorker } from '../helpers/export';
import { closePostgresPools } from '../../src/postgres/client';
import { getJob } from '../../src/ingest/jobs-repo';
import { ingestJobQuery } from '../../src/ingest/workflow';
import type { IngestJob } from '../../src/ingest/job';
import { ingestConfig, LOCATIONS_CSV, migrated, pgEventCounts, pool, startJob, tenantId, usersCsv, writeSftpFile } from './helpers';

before(async () => migrated(ingestConfig(tenantId())));
after(closePostgresPools);

/** Runs a job that must fail; returns its record from the query and from processing_jobs (they must agree). */
async function failedJob(client: Client, config: Config, tenant: string, body: Record<string, unknown>): Promise<IngestJob> {
  const handle = await startJob(client, config, tenant, body);
  const err = await handle.result().then(
    () => assert.fail('the job should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  const queried = await handle.query(ingestJobQuery);
  const mirrored = await getJob(pool(config), handle.workflowId);
  assert.equal(queried.status, 'failed');
  assert.equal(mirrored?.status, 'failed');
  assert.equal(mirrored?.error_message, queried.error_message, 'the table says what the query says');
  assert.ok(queried.completed_at);
  return queried;
}

test('missing SFTP file: failed, naming the folder and the pattern', async () => {
  const tenant = tenantId('nofile');
  const second = tenantId('nofolder');
  const config = ingestConfig(tenant, { others: { [second]: { folder: '/upload/no-such-folder-here' } } });
  writeSftpFile(`${config.folder}/users_old.txt`, 'not a match');
  await withWorker(config, async (client) => {
    const job = await failedJob(client, config, tenant, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['users'] });
    assert.equal(job.error_type, 'IngestFileNotFound');
    assert.match(job.error_message!, /^users: no file matching "users_\*\.csv" in folder \/upload\/ingest-[0-9a-f]+ on SFTP connection "default"/);
    // a folder that does not exist at all
    const job2 = await failedJob(client, config, second, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['locations'] });
    assert.match(job2.error_message!, /locations: no file matching "locations_\*\.csv" in folder \/upload\/no-such-folder-here .*the folder does not exist/);
  });
});

test('missing BigQuery table: failed at once (not retried), naming the event type and the table', async () => {
  const tenant = tenantId('notable');
  const config = ingestConfig(tenant, { eventTypes: ['purchase'], tables: { purchase: 'no_such_table' } });
  await withWorker(config, async (client) => {
    const job = await failedJob(client, config, tenant, { start_date: '2025-01-01', end_date: '2025-01-02', data_types: ['events'] });
    assert.equal(job.error_type, 'BigQueryTableNotFound');
    assert.match(job.error_message!, /^purchase: BigQuery table `bq-sftp-demo\.ga4_demo\.no_such_table` \(event type purchase\) was not found/);
    assert.match(job.error_message!, /ingest\.tenants\.[a-z0-9_]+\.bigquery/);
  });
});

test('CSV without a required column: failed, naming the missing column and the file', async () => {
  const tenant = tenantId('header');
  const config = ingestConfig(tenant);
  writeSftpFile(`${config.folder}/users_20250131.csv`, 'user_id,mail,company_name\nu1,a@example.com,Acme\n');
  await withWorker(config, async (client) => {
    const job = await failedJob(client, config, tenant, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['users'] });
    assert.equal(job.error_type, 'IngestBadHeader');
    assert.match(job.error_message!, /users file \/upload\/ingest-[0-9a-f]+\/users_20250131\.csv lacks the required column email: its header is "user_id,mail,company_name"/);
  });
});

test('5 % bad rows: the rest loads, the bad ones are counted with line numbers; above max_bad_share nothing loads', async () => {
  const tenant = tenantId('badrows');
  const rows: [string, string, string][] = [];
  for (let i = 1; i <= 100; i++) rows.push([`u${i}`, i % 20 === 0 ? 'not-an-email' : `u${i}@example.com`, `Co ${i}`]);
  const other = tenantId('strict');
  const config = ingestConfig(tenant, { maxBadShare: 0.3, others: { [other]: { maxBadShare: 0.02 } } });
  writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv(rows));
  writeSftpFile(`${config.folder}/locations_20250131.csv`, LOCATIONS_CSV.trimEnd() + '\nL4,Store 4,Nowhere,XX,123.0,1.0\n');
  await withWorker(config, async (client) => {
    const handle = await startJob(client, config, tenant, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['users', 'locations'] });
    const job = await handle.result();
    assert.equal(job.status, 'completed');
    assert.equal(job.records_processed.users_processed, 95);
    assert.equal(job.bad_rows?.users.count, 5);
    // header is line 1, user i is on line i + 1
    assert.deepEqual(job.bad_rows?.users.lines.map((l) => l.line), [21, 41, 61, 81, 101]);
    assert.match(job.bad_rows!.users.lines[0].error, /email is not an e-mail address: "not-an-email"/);
    assert.equal(job.records_processed.locations_processed, 3);
    assert.deepEqual(job.bad_rows?.locations.lines, [{ line: 5, error: 'latitude is not a number between -90 and 90: "123.0"' }]);
    const n = await pool(config).query(`SELECT count(*)::int AS n FROM users WHERE tenant_id = $1`, [tenant]);
    assert.equal(n.rows[0].n, 95);
    assert.deepEqual((await getJob(pool(config), job.job_id))?.bad_rows, job.bad_rows, 'bad rows are in processing_jobs too');

        const failed = await failedJob(client, config, other, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['users'] });
    assert.equal(failed.error_type, 'IngestTooManyBadRows');
    assert.match(failed.error_message!, /5 of 100 rows have a bad value \(5\.0 % > ingest\.tenants\.[a-z0-9_]+\.users_file\.max_bad_share 2 %\); nothing was loaded\. First bad lines: line 21: email/);
    const none = await pool(config).query(`SELECT count(*)::int AS n FROM users WHERE tenant_id = $1`, [other]);
    assert.equal(none.rows[0].n, 0);
  });
});

test('timeout: the job fails with "Job timed out after …" in the query and the table, its activities stopped', async () => {
  const tenant = tenantId('timeout');
  const config = ingestConfig(tenant, { ingest: { max_parallel: 1 } });
  await withWorker(config, async (client) => {
    // a week: six types one after the other take longer than the second the job is given
    const job = await failedJob(client, config, tenant, { start_date: '2025-01-01', end_date: '2025-01-07', data_types: ['events'], timeout_seconds: 1 });
    assert.equal(job.error_message, 'Job timed out after 1 second');
    assert.equal(job.error_type, 'JobTimedOut');
  });
  // the seed's default
  const { timeoutMessage } = await import('../../src/ingest/job');
  assert.equal(timeoutMessage(1800), 'Job timed out after 30 minutes');
});

test('cancel: failed "cancelled", activities stopped (no insert after it)', async () => {
  const tenant = tenantId('cancel');
  // small pages: the emulator answers each page request by formatting the whole result again, so
  // 220 requests keep the job running for seconds after its first rows (with 2,000-row pages a
  // quiet machine finished the job between two looks and there was nothing left to cancel)
  const config = ingestConfig(tenant, { ingest: { max_parallel: 1, page_rows: 100 }, eventTypes: ['page_view'] });
  await withWorker(config, async (client) => {
    // ten days (22,000 rows) in pages of 100: the cancel comes long before the end
    const handle = await startJob(client, config, tenant, { start_date: '2025-01-01', end_date: '2025-01-10', data_types: ['events'] });
    // wait until rows arrive, then cancel mid-load
    for (let i = 0; i < 600; i++) {
      if ((await pgEventCounts(config, tenant, ['page_view'])).page_view > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.cancel();
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    const job = await getJob(pool(config), handle.workflowId);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.error_message, 'cancelled');
    const atCancel = await pgEventCounts(config, tenant, ['page_view']);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await pgEventCounts(config, tenant, ['page_view']), atCancel, 'no rows arrive after the cancel');
    assert.ok(atCancel.page_view < 22_000, 'the cancel stopped the load before the end');
  });
});
