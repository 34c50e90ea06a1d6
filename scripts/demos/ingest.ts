import { loadConfig } from '../../src/config';
import { clientFor } from '../../src/cli/config-option';
import { runUrl } from '../../src/activities/notify';
import { requireStack } from '../../src/stack/stack-check';
import { createWorker } from '../../src/worker';
import { closePostgresPools, postgresPool, postgresSettings } from '../../src/postgres/client';
import { migrateIngest } from '../../src/ingest/activities';
import { availability } from '../../src/ingest/jobs-repo';
import { buildIngestInput, startIngestJob } from '../../src/ingest/start';
import type { IngestJob } from '../../src/ingest/job';
import { ensureIngestDemoData, INGEST_DEMO_END, INGEST_DEMO_START, INGEST_DEMO_TENANT } from '../../src/stack/seed-ingest';

/** Seed 001 on the local stack: one ingest job for the demo tenant's month, BigQuery + SFTP → PostgreSQL. */
export async function run(): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const info = await requireStack();
  const config = loadConfig({ path: info.demoConfigPath });
  const seeded = await ensureIngestDemoData(info, out);
  if (seeded > 2) out(`  (the demo month was created in the BigQuery emulator in ${seeded.toFixed(0)} s; the emulator keeps it until it stops)`);
  const migrated = await migrateIngest(config);
  out(`\nPostgreSQL ${postgresSettings(config).url}: schema version ${migrated.current}${migrated.applied.length ? ' (just applied)' : ''}`);
  const client = await clientFor(config);
  const worker = await createWorker({ config });
  const input = buildIngestInput(config, { tenant: INGEST_DEMO_TENANT, start_date: INGEST_DEMO_START, end_date: INGEST_DEMO_END, data_types: ['events', 'users', 'locations'] });
  out(`Running ingest job ${input.job_id} for tenant "${input.tenant}", ${input.start_date} → ${input.end_date}: six GA4 event tables from BigQuery, users and locations from SFTP …`);
  const started = Date.now();
  const handle = await startIngestJob(client, config, input);
  const { runId } = await handle.describe();
  let job: IngestJob;
  try {
    job = await worker.runUntil(handle.result());
  } catch (err) {
    const details = (err as { cause?: { details?: unknown[] } }).cause?.details;
    if (!details?.[0]) throw err;
    job = details[0] as IngestJob;
  }
  const seconds = (Date.now() - started) / 1000;
  const total = Object.values(job.records_processed).reduce((a, b) => a + b, 0);
  out(`\nThe job (the seed's JSON; also in processing_jobs):\n${JSON.stringify(job, null, 2)}`);
  out(`\n${total.toLocaleString('en-US')} records in ${seconds.toFixed(1)} s (${Math.round(total / seconds).toLocaleString('en-US')} records/s)`);
  out('\nData availability (GET /data/api/v1/availability):');
  for (const r of await availability(postgresPool(postgresSettings(config)), INGEST_DEMO_TENANT)) {
    out(`  ${r.event_type.padEnd(20)} ${r.earliest_date} → ${r.latest_date}  ${String(r.total_rows).padStart(7)} rows`);
  }
  out(
    `\nTry next:\n  npx bq-sftp ingest jobs --tenant ${INGEST_DEMO_TENANT} -c ${info.demoConfigPath}` +
      `\n  npx bq-sftp availability --tenant ${INGEST_DEMO_TENANT} --breakdown -c ${info.demoConfigPath}` +
      `\n  psql "${postgresSettings(config).url}" -c "SELECT job_id, status, data_types, start_date, end_date, created_at FROM processing_jobs ORDER BY created_at DESC LIMIT 5"` +
      `\n\nSee this job in the Temporal Web UI:\n  ${runUrl(config, input.job_id, runId)}\n`,
  );
  await client.connection.close();
  await closePostgresPools();
  if (job.status !== 'completed') throw new Error(`the ingest job failed: ${job.error_message}`);
}
