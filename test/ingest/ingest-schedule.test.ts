import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { syncSchedules } from '../../src/export/schedules/sync';
import { desiredSchedules } from '../../src/export/schedules/desired';
import { ingestScheduleId } from '../../src/ingest/schedules';
import { logicalDate } from '../../src/workflows/logical-date';
import { closePostgresPools } from '../../src/postgres/client';
import { listJobs } from '../../src/ingest/jobs-repo';
import { withWorker } from '../helpers/export';
import { ingestConfig, LOCATIONS_CSV, migrated, pool, tenantId, usersCsv, writeSftpFile } from './helpers';

before(async () => migrated(ingestConfig(tenantId())));
after(closePostgresPools);

test('schedules sync creates a daily schedule per tenant that asks for one; triggered, it ingests yesterday as a job', async () => {
  const tenant = tenantId('daily');
  const quiet = tenantId('quiet');
  const config = ingestConfig(tenant, { eventTypes: ['purchase'], others: { [quiet]: {} } });
  (config as unknown as { ingest: { tenants: Record<string, { schedule?: unknown }> } }).ingest.tenants[tenant].schedule = { enabled: true, cron: '0 7 * * *', timezone: 'UTC', paused: false };
  const id = ingestScheduleId(config.temporal.task_queue, tenant);
  const mine = desiredSchedules(config).filter((d) => d.workflowType === 'IngestScheduledWorkflow');
  assert.deepEqual(mine.map((d) => d.id), [id], 'one schedule, for the tenant that asked for it');
  assert.deepEqual(mine[0].input, { tenant, data_types: ['events', 'users', 'locations'], timezone: 'UTC', date_offset_days: 1, timeout_seconds: 1800 });

  writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv([['u1', 'a@example.com', 'Acme']]));
  writeSftpFile(`${config.folder}/locations_20250131.csv`, LOCATIONS_CSV);
  await withWorker(config, async (client) => {
    const plan = await syncSchedules(client, config);
    assert.ok(plan.create.includes(id), JSON.stringify(plan));
    const handle = client.schedule.getHandle(id);
    try {
      const d = await handle.describe();
      assert.equal(d.action.type, 'startWorkflow');
      await handle.trigger();
      const yesterday = logicalDate(new Date(), 1, 'UTC');
      let jobs: Awaited<ReturnType<typeof listJobs>>['jobs'] = [];
      for (let i = 0; i < 600 && !jobs.some((j) => j.status === 'completed'); i++) {
        jobs = (await listJobs(pool(config), { tenants: [tenant], limit: 5, offset: 0 })).jobs;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(jobs.length, 1);
      assert.equal(jobs[0].status, 'completed', JSON.stringify(jobs[0]));
      assert.equal(jobs[0].start_date, yesterday);
      assert.equal(jobs[0].end_date, yesterday);
      assert.deepEqual(jobs[0].records_processed, { purchase: 0, users_processed: 1, locations_processed: 3 });
    } finally {
      await handle.delete();
    }
  });
});
