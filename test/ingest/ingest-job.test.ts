import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { withWorker } from '../helpers/export';
import { closePostgresPools } from '../../src/postgres/client';
import { getJob } from '../../src/ingest/jobs-repo';
import { ingestJobQuery } from '../../src/ingest/workflow';
import { EVENT_TYPES } from '../../src/ingest/event-types';
import { bigQueryCounts, ingestConfig, LOCATIONS_CSV, migrated, pgCount, pgEventCounts, pool, runJob, tenantId, usersCsv, writeSftpFile } from './helpers';

const START = '2025-01-01';
const END = '2025-01-31';

before(async () => migrated(ingestConfig(tenantId())));
after(closePostgresPools);

test('IngestWorkflow: a month of six event types + users + locations → PostgreSQL; counts equal BigQuery, the job JSON has the seed shape, a rerun changes nothing', async () => {
  const tenant = tenantId('month');
  const config = ingestConfig(tenant);
  writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv([['u1', 'a@example.com', 'Acme'], ['u2', 'b@example.com', '"Bolt, Inc."'], ['u3', 'c@example.com', 'Cogs']]));
  writeSftpFile(`${config.folder}/locations_20250131.csv`, LOCATIONS_CSV);
  const truth = await bigQueryCounts(START, END);
  assert.ok(Object.values(truth).reduce((a, b) => a + b, 0) >= 100_000, 'the demo month holds ≥ 100,000 events');

  await withWorker(config, async (client) => {
    const job = await runJob(client, config, tenant, { start_date: START, end_date: END, data_types: ['events', 'users', 'locations'] });
    assert.equal(job.status, 'completed');
    assert.match(job.job_id, /^job_\d{8}_[0-9a-f]{6}$/);
    assert.deepEqual(Object.keys(job.records_processed), [...EVENT_TYPES, 'users_processed', 'locations_processed']);
    assert.deepEqual(job.records_processed, { ...truth, users_processed: 3, locations_processed: 3 });
    for (const k of ['job_id', 'status', 'data_types', 'start_date', 'end_date', 'records_processed', 'created_at', 'started_at', 'completed_at']) assert.ok(k in job, `job JSON has ${k}`);
    assert.deepEqual(job.data_types, ['events', 'users', 'locations']);
    assert.equal(job.start_date, START);
    assert.equal(job.end_date, END);
    assert.ok(job.created_at <= job.started_at! && job.started_at! <= job.completed_at!);

    assert.deepEqual(await pgEventCounts(config, tenant), truth, 'PostgreSQL holds exactly what BigQuery holds');
    assert.equal(await pgCount(config, 'users', tenant), 3);
    assert.equal(await pgCount(config, 'locations', tenant), 3);
    const { rows } = await pool(config).query(`SELECT company_name FROM users WHERE tenant_id = $1 AND user_id = 'u2'`, [tenant]);
    assert.equal(rows[0].company_name, 'Bolt, Inc.', 'a quoted CSV field keeps its comma');

    // the record: the workflow's query and the processing_jobs mirror agree
    const queried = await client.workflow.getHandle(job.job_id).query(ingestJobQuery);
    assert.deepEqual(queried, job);
    const mirrored = await getJob(pool(config), job.job_id);
    assert.equal(mirrored?.status, 'completed');
    assert.deepEqual(mirrored?.records_processed, job.records_processed);
    // the seed's SQL: this job is no longer among the running ones
    const running = await pool(config).query(`SELECT job_id FROM processing_jobs WHERE status IN ('queued', 'processing') AND job_id = $1`, [job.job_id]);
    assert.equal(running.rowCount, 0);

    // a second job over the same month changes nothing
    const again = await runJob(client, config, tenant, { start_date: START, end_date: END });
    assert.equal(again.status, 'completed');
    assert.notEqual(again.job_id, job.job_id);
    assert.deepEqual(again.records_processed, job.records_processed);
    assert.deepEqual(await pgEventCounts(config, tenant), truth, 'a rerun duplicates nothing');
    assert.equal(await pgCount(config, 'users', tenant), 3);
    assert.equal(await pgCount(config, 'locations', tenant), 3);
  });
});

test('users file with changed and new rows: the newest file is upserted by user_id, nothing duplicated; a sub-range job replaces only its days', async () => {
  const tenant = tenantId('users');
  const config = ingestConfig(tenant, { eventTypes: ['purchase', 'no_search_results'] });
  writeSftpFile(`${config.folder}/users_20250130.csv`, usersCsv([['u1', 'a@example.com', 'Acme'], ['u2', 'b@example.com', 'Bolt']]), new Date('2025-01-30T06:00:00Z'));
  await withWorker(config, async (client) => {
    const first = await runJob(client, config, tenant, { start_date: '2025-01-10', end_date: '2025-01-12', data_types: ['users', 'events'] });
    assert.deepEqual(first.records_processed, { ...(await bigQueryCounts('2025-01-10', '2025-01-12', ['purchase', 'no_search_results'])), users_processed: 2 });

    writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv([['u2', 'b2@example.com', 'Bolt GmbH'], ['u3', 'c@example.com', 'Cogs']]), new Date('2025-01-31T06:00:00Z'));
    const second = await runJob(client, config, tenant, { start_date: '2025-01-11', end_date: '2025-01-11', data_types: ['users', 'events'] });
    assert.equal(second.records_processed.users_processed, 2);
    const { rows } = await pool(config).query(`SELECT user_id, email, company_name, source_file FROM users WHERE tenant_id = $1 ORDER BY user_id`, [tenant]);
    assert.deepEqual(rows.map((r) => [r.user_id, r.email, r.company_name]), [['u1', 'a@example.com', 'Acme'], ['u2', 'b2@example.com', 'Bolt GmbH'], ['u3', 'c@example.com', 'Cogs']]);
    assert.equal(rows[2].source_file, `${config.folder}/users_20250131.csv`);
    // events of days outside the second job's range are untouched, inside replaced (same counts)
    assert.deepEqual(await pgEventCounts(config, tenant, ['purchase', 'no_search_results']), await bigQueryCounts('2025-01-10', '2025-01-12', ['purchase', 'no_search_results']));
  });
});
