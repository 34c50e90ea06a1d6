import type pg from 'pg';
import type { IngestJob, JobStatus } from './job';
import { EVENT_TYPES, eventTable, type EventType } from './event-types';

/** Mirrors the workflow's job record into processing_jobs (the seed's SQL keeps working). */
/** `seq` orders the writes of one run: an older snapshot that arrives late never overwrites a newer one. */
export async function upsertJob(pool: pg.Pool | pg.PoolClient, job: IngestJob, runId?: string, seq = 0): Promise<void> {
  await pool.query(
    `INSERT INTO processing_jobs (job_id, tenant_id, status, data_types, start_date, end_date, records_processed, error_message, created_at, started_at, completed_at, workflow_run_id, record_seq, error_type, bad_rows, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now())
     ON CONFLICT (job_id) DO UPDATE SET status = EXCLUDED.status, records_processed = EXCLUDED.records_processed,
       error_message = EXCLUDED.error_message, started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at,
       workflow_run_id = EXCLUDED.workflow_run_id, record_seq = EXCLUDED.record_seq,
       error_type = EXCLUDED.error_type, bad_rows = EXCLUDED.bad_rows, updated_at = now()
     WHERE processing_jobs.workflow_run_id IS DISTINCT FROM EXCLUDED.workflow_run_id OR processing_jobs.record_seq < EXCLUDED.record_seq`,
    [job.job_id, job.tenant_id, job.status, job.data_types, job.start_date, job.end_date, JSON.stringify(job.records_processed), job.error_message ?? null, job.created_at, job.started_at ?? null, job.completed_at ?? null, runId ?? null, seq, job.error_type ?? null, job.bad_rows ? JSON.stringify(job.bad_rows) : null],
  );
}

interface JobRow {
  job_id: string;
  tenant_id: string;
  status: JobStatus;
  data_types: string[];
  start_date: string;
  end_date: string;
  records_processed: Record<string, number>;
  error_message: string | null;
  error_type: string | null;
  bad_rows: IngestJob['bad_rows'] | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

const SELECT = `SELECT job_id, tenant_id, status, data_types, to_char(start_date, 'YYYY-MM-DD') AS start_date, to_char(end_date, 'YYYY-MM-DD') AS end_date,
  records_processed, error_message, error_type, bad_rows, created_at, started_at, completed_at FROM processing_jobs`;

function toJob(r: JobRow): IngestJob {
  const job: IngestJob = {
    job_id: r.job_id,
    tenant_id: r.tenant_id,
    status: r.status,
    data_types: r.data_types as IngestJob['data_types'],
    start_date: r.start_date,
    end_date: r.end_date,
    records_processed: r.records_processed,
    created_at: r.created_at.toISOString(),
  };
  if (r.started_at) job.started_at = r.started_at.toISOString();
  if (r.completed_at) job.completed_at = r.completed_at.toISOString();
  if (r.error_message) job.error_message = r.error_message;
  if (r.error_type) job.error_type = r.error_type;
  if (r.bad_rows) job.bad_rows = r.bad_rows;
  return job;
}

export async function getJob(pool: pg.Pool, jobId: string): Promise<IngestJob | undefined> {
  const { rows } = await pool.query<JobRow>(`${SELECT} WHERE job_id = $1`, [jobId]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

export interface ListJobsOptions {
  tenants: string[];
  status?: JobStatus;
  limit: number;
  offset: number;
}

/** A tenant's jobs, newest first, paged. */
export async function listJobs(pool: pg.Pool, opts: ListJobsOptions): Promise<{ jobs: IngestJob[]; total: number }> {
  const params: unknown[] = [opts.tenants];
  let where = 'WHERE tenant_id = ANY($1)';
  if (opts.status) {
    params.push(opts.status);
    where += ` AND status = $${params.length}`;
  }
  const total = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM processing_jobs ${where}`, params);
  const { rows } = await pool.query<JobRow>(`${SELECT} ${where} ORDER BY created_at DESC, job_id DESC LIMIT ${opts.limit} OFFSET ${opts.offset}`, params);
  return { jobs: rows.map(toJob), total: Number(total.rows[0].n) };
}

export interface AvailabilityRow {
  event_type: EventType;
  earliest_date: string | null;
  latest_date: string | null;
  total_rows: number;
  days: number;
}

/** Per event type: the earliest and latest date held, rows and days, from PostgreSQL. */
export async function availability(pool: pg.Pool, tenant: string, types: readonly EventType[] = EVENT_TYPES): Promise<AvailabilityRow[]> {
  const parts = types.map(
    (t, i) => `SELECT ${i} AS ord, '${t}' AS event_type, to_char(min(event_date), 'YYYY-MM-DD') AS earliest_date, to_char(max(event_date), 'YYYY-MM-DD') AS latest_date,
      count(*) AS total_rows, count(DISTINCT event_date) AS days FROM ${eventTable(t)} WHERE tenant_id = $1`,
  );
  const { rows } = await pool.query<{ event_type: EventType; earliest_date: string | null; latest_date: string | null; total_rows: string; days: string }>(
    `${parts.join(' UNION ALL ')} ORDER BY ord`,
    [tenant],
  );
  return rows.map((r) => ({ event_type: r.event_type, earliest_date: r.earliest_date, latest_date: r.latest_date, total_rows: Number(r.total_rows), days: Number(r.days) }));
}

export interface BreakdownRow {
  date: string;
  counts: Record<string, number>;
  total: number;
}

/** Per date (optionally within a range): the rows of each event type. */
export async function availabilityBreakdown(
  pool: pg.Pool,
  tenant: string,
  opts: { types?: readonly EventType[]; from?: string; to?: string } = {},
): Promise<BreakdownRow[]> {
  const types = opts.types ?? EVENT_TYPES;
  const params: unknown[] = [tenant];
  let range = '';
  if (opts.from) {
    params.push(opts.from);
    range += ` AND event_date >= $${params.length}`;
  }
  if (opts.to) {
    params.push(opts.to);
    range += ` AND event_date <= $${params.length}`;
  }
  const parts = types.map((t) => `SELECT '${t}' AS event_type, event_date, count(*) AS n FROM ${eventTable(t)} WHERE tenant_id = $1${range} GROUP BY event_date`);
  const { rows } = await pool.query<{ event_type: string; d: string; n: string }>(
    `SELECT event_type, to_char(event_date, 'YYYY-MM-DD') AS d, n FROM (${parts.join(' UNION ALL ')}) x ORDER BY event_date`,
    params,
  );
  const byDate = new Map<string, BreakdownRow>();
  for (const r of rows) {
    let row = byDate.get(r.d);
    if (!row) {
      row = { date: r.d, counts: Object.fromEntries(types.map((t) => [t, 0])), total: 0 };
      byDate.set(r.d, row);
    }
    row.counts[r.event_type] = Number(r.n);
    row.total += Number(r.n);
  }
  return [...byDate.values()];
}
