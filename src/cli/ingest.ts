/**
 * `bq-sftp db migrate`, `bq-sftp ingest start|jobs|status|cancel`, `bq-sftp availability`:
 * the ingest family (seed 001) from the command line.
 */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type * as PostgresModule from '../postgres/client';
import type * as IngestActivitiesModule from '../ingest/activities';
import { availability, availabilityBreakdown, getJob, listJobs } from '../ingest/jobs-repo';
import { JOB_STATUSES, type IngestJob, type JobStatus } from '../ingest/job';
import type * as IngestStartModule from '../ingest/start';
import type * as TenantsModule from '../ingest/tenants';
import { notify, temporalClient } from './lazy-modules';
import { addConfigOption, loadCliConfig, optionDate, withClient } from './config-option';
import { EXIT_REFUSED, fail } from './output';

// The Temporal client, pg, BigQuery (tenants) and the ingest activities when a command runs, not
// to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const postgres = () => require('../postgres/client') as typeof PostgresModule;
const ingestActivities = () => require('../ingest/activities') as typeof IngestActivitiesModule;
const ingestStart = () => require('../ingest/start') as typeof IngestStartModule;
const tenants = () => require('../ingest/tenants') as typeof TenantsModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function pool(config: Config) {
  const { postgresPool, postgresSettings, PostgresError } = postgres();
  try {
    return postgresPool(postgresSettings(config));
  } catch (err) {
    if (err instanceof PostgresError) fail(err.message, EXIT_REFUSED);
    throw err;
  }
}

function tenantOrRefuse(config: Config, tenant: string | undefined): string {
  const { getTenant, IngestError, tenantNames } = tenants();
  const name = tenant ?? (tenantNames(config).length === 1 ? tenantNames(config)[0] : undefined);
  if (!name) fail(`--tenant is required (configured tenants: ${tenantNames(config).join(', ') || 'none'})`, EXIT_REFUSED);
  try {
    getTenant(config, name);
  } catch (err) {
    if (err instanceof IngestError) fail(`--tenant: ${err.message}`, EXIT_REFUSED);
    throw err;
  }
  return name;
}

function printJob(job: IngestJob, url?: string): void {
  out(JSON.stringify(job, null, 2));
  if (url) out(`Web UI: ${url}`);
}

/** Waits until the job's record says completed or failed (the workflow ends right after). */
async function waitForJob(client: Client, jobId: string): Promise<IngestJob> {
  try {
    return await client.workflow.getHandle(jobId).result();
  } catch (err) {
    if (err instanceof temporalClient().WorkflowFailedError) {
      const details = (err.cause as { details?: unknown[] } | undefined)?.details;
      if (details?.[0]) return details[0] as IngestJob;
    }
    throw err;
  }
}

async function withPgClient(opts: { config?: string }, fn: (config: Config) => Promise<number | void>): Promise<void> {
  const config = loadCliConfig(opts);
  try {
    process.exitCode = (await fn(config)) ?? 0;
  } finally {
    await postgres().closePostgresPools();
  }
}

function pageOption(value: string, flag: string, max: number): number {
  if (!/^\d{1,6}$/.test(value) || Number(value) > max) fail(`${flag} must be a whole number from 0 to ${max} (got ${JSON.stringify(value)})`, EXIT_REFUSED);
  return Number(value);
}

export function registerIngestCommands(program: Command): void {
  const db = program.command('db').description('the PostgreSQL database of the ingest family');
  addConfigOption(db.command('migrate').description('create or update the ingest tables (idempotent; workers also run it at start)')).action(async (opts: { config?: string }) => {
    await withPgClient(opts, async (config) => {
      const { describeUrl, postgresSettings } = postgres();
      const settings = (() => {
        try {
          return postgresSettings(config);
        } catch (err) {
          return fail((err as Error).message, EXIT_REFUSED);
        }
      })();
      const r = await ingestActivities().migrateIngest(config);
      out(r.applied.length ? `Applied ${r.applied.map((a) => `${a.version} (${a.name})`).join(', ')} at ${describeUrl(settings.url)}` : `Up to date at ${describeUrl(settings.url)} (version ${r.current})`);
    });
  });

  const ingest = program.command('ingest').description('ingest jobs: BigQuery GA4 events and SFTP users/locations files → PostgreSQL');
  addConfigOption(
    ingest
      .command('start')
      .description('start an ingest job (IngestWorkflow) and wait for it; prints the job JSON')
      .option('-t, --tenant <id>', 'tenant (ingest.tenants.<id>; optional when only one is configured)')
      .requiredOption('--start-date <YYYY-MM-DD>', 'first day')
      .option('--end-date <YYYY-MM-DD>', 'last day (default: the start date)')
      .option('--types <list>', 'data types: events,users,locations (default: all)')
      .option('--event-types <list>', "event types (default: the tenant's)")
      .option('--no-wait', 'print the job ID and return')
      .option('--json', 'only the job JSON'),
  ).action(async (opts: { config?: string; tenant?: string; startDate: string; endDate?: string; types?: string; eventTypes?: string; wait: boolean; json?: boolean }) => {
    const { buildIngestInput, IngestInputError, startIngestJob } = ingestStart();
    let input!: ReturnType<typeof buildIngestInput>;
    await withClient(opts, async (client, config) => {
      const handle = await startIngestJob(client, config, input);
      const { runId } = await handle.describe();
      const url = notify().runUrl(config, input.job_id, runId);
      if (!opts.wait) {
        out(opts.json ? JSON.stringify({ job_id: input.job_id, status: 'queued', url }) : `Started ${input.job_id}\n  Web UI: ${url}`);
        return 0;
      }
      if (!opts.json) out(`Running ${input.job_id} for tenant ${input.tenant}, ${input.start_date} → ${input.end_date} …`);
      const job = await waitForJob(client, input.job_id);
      if (opts.json) out(JSON.stringify(job, null, 2));
      else printJob(job, url);
      if (job.status === 'failed') process.stderr.write(`bq-sftp: ${input.job_id} failed: ${job.error_message}\n`);
      return job.status === 'completed' ? 0 : 1;
    }, (config) => {
      const tenant = tenantOrRefuse(config, opts.tenant);
      const split = (s?: string) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
      try {
        input = buildIngestInput(config, { tenant, start_date: opts.startDate, end_date: opts.endDate ?? opts.startDate, data_types: split(opts.types), event_types: split(opts.eventTypes) });
      } catch (err) {
        if (err instanceof IngestInputError) {
          const flag = { start_date: '--start-date', end_date: '--end-date', data_types: '--types', event_types: '--event-types', tenant: '--tenant' }[err.field] ?? err.field;
          fail(`${flag}${err.message.slice(err.field.length)}`, EXIT_REFUSED);
        }
        throw err;
      }
    });
  });

  addConfigOption(
    ingest
      .command('jobs')
      .description("a tenant's jobs, newest first (from processing_jobs)")
      .option('-t, --tenant <id>', 'tenant')
      .option('--status <status>', `one of ${JOB_STATUSES.join(', ')}`)
      .option('--limit <n>', 'page size', '20')
      .option('--offset <n>', 'skip this many', '0')
      .option('--json', 'JSON'),
  ).action(async (opts: { config?: string; tenant?: string; status?: string; limit: string; offset: string; json?: boolean }) => {
    await withPgClient(opts, async (config) => {
      const tenant = tenantOrRefuse(config, opts.tenant);
      if (opts.status !== undefined && !JOB_STATUSES.includes(opts.status as JobStatus)) fail(`--status must be one of ${JOB_STATUSES.join(', ')} (got ${JSON.stringify(opts.status)})`, EXIT_REFUSED);
      const limit = Math.max(1, pageOption(opts.limit, '--limit', 1000));
      const offset = pageOption(opts.offset, '--offset', 1_000_000);
      const r = await listJobs(pool(config), { tenants: [tenant], status: opts.status as JobStatus | undefined, limit, offset });
      if (opts.json) return out(JSON.stringify({ ...r, limit, offset }, null, 2));
      out(`${r.total} job(s) of tenant ${tenant}${opts.status ? ` with status ${opts.status}` : ''}`);
      for (const j of r.jobs) {
        const total = Object.values(j.records_processed).reduce((a, b) => a + b, 0);
        out(`  ${j.job_id}  ${j.status.padEnd(10)} ${j.start_date} → ${j.end_date}  ${String(total).padStart(8)} records  created ${j.created_at}${j.error_message ? `  error: ${j.error_message}` : ''}`);
      }
    });
  });

  addConfigOption(ingest.command('status').description('one job: its record and Web UI link').argument('<job_id>').option('--json', 'JSON')).action(
    async (jobId: string, opts: { config?: string; json?: boolean }) => {
      await withClient(opts, async (client, config) => {
        try {
          const job = await getJob(pool(config), jobId);
          if (!job) {
            out(opts.json ? JSON.stringify({ job_id: jobId, status: 'NOT_FOUND' }) : `${jobId}: no such job`);
            return 3;
          }
          let url: string | undefined;
          try {
            const d = await client.workflow.getHandle(jobId).describe();
            url = notify().runUrl(config, jobId, d.runId);
          } catch (err) {
            if (!(err instanceof temporalClient().WorkflowNotFoundError)) throw err;
          }
          if (opts.json) out(JSON.stringify({ ...job, url }, null, 2));
          else printJob(job, url);
          return job.status === 'failed' ? 1 : 0;
        } finally {
          await postgres().closePostgresPools();
        }
      }, () => {
        try {
          ingestStart().assertJobId(jobId);
        } catch (err) {
          fail(`<job_id>${(err as Error).message.slice('job_id'.length)}`, EXIT_REFUSED);
        }
      });
    },
  );

  addConfigOption(ingest.command('cancel').description('cancel a running job: its activities stop, the record says failed, "cancelled"').argument('<job_id>')).action(
    async (jobId: string, opts: { config?: string }) => {
      await withClient(opts, async (client) => {
        const handle = client.workflow.getHandle(jobId);
        try {
          const d = await handle.describe();
          if (d.status.name !== 'RUNNING') {
            process.stderr.write(`bq-sftp: ${jobId} is not running (${d.status.name}); nothing to cancel\n`);
            return EXIT_REFUSED;
          }
          await handle.cancel();
        } catch (err) {
          if (err instanceof temporalClient().WorkflowNotFoundError) {
            process.stderr.write(`bq-sftp: no job ${jobId}\n`);
            return 3;
          }
          throw err;
        }
        const job = await waitForJob(client, jobId);
        out(JSON.stringify(job, null, 2));
        return 0;
      }, () => {
        try {
          ingestStart().assertJobId(jobId);
        } catch (err) {
          fail(`<job_id>${(err as Error).message.slice('job_id'.length)}`, EXIT_REFUSED);
        }
      });
    },
  );

  addConfigOption(
    program
      .command('availability')
      .description('per event type, the earliest and latest date held and the row counts in PostgreSQL')
      .option('-t, --tenant <id>', 'tenant')
      .option('--breakdown', 'per date')
      .option('--from <YYYY-MM-DD>', 'breakdown: first day')
      .option('--to <YYYY-MM-DD>', 'breakdown: last day')
      .option('--event-types <list>', 'only these event types')
      .option('--json', 'JSON'),
  ).action(async (opts: { config?: string; tenant?: string; breakdown?: boolean; from?: string; to?: string; eventTypes?: string; json?: boolean }) => {
    await withPgClient(opts, async (config) => {
      const tenant = tenantOrRefuse(config, opts.tenant);
      const types = opts.eventTypes?.split(',').map((s) => s.trim());
      const { isEventType } = tenants();
      const bad = types?.find((t) => !isEventType(t));
      if (bad !== undefined) fail(`--event-types: unknown event type ${JSON.stringify(bad)}`, EXIT_REFUSED);
      const from = opts.from === undefined ? undefined : optionDate(opts.from, '--from');
      const to = opts.to === undefined ? undefined : optionDate(opts.to, '--to');
      const eventTypes = types?.filter(isEventType);
      if (opts.breakdown) {
        const rows = await availabilityBreakdown(pool(config), tenant, { types: eventTypes, from, to });
        if (opts.json) return out(JSON.stringify({ tenant_id: tenant, dates: rows }, null, 2));
        for (const r of rows) out(`  ${r.date}  ${String(r.total).padStart(8)}  ${Object.entries(r.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
        return;
      }
      const rows = await availability(pool(config), tenant, eventTypes);
      if (opts.json) return out(JSON.stringify({ tenant_id: tenant, event_types: rows }, null, 2));
      for (const r of rows) out(`  ${r.event_type.padEnd(20)} ${r.earliest_date ?? '—'} → ${r.latest_date ?? '—'}  ${String(r.total_rows).padStart(9)} rows  ${r.days} days`);
    });
  });
}
