/**
 * bq-sftp's own Prometheus metrics, in one registry every family can import:
 *
 *   import { metrics } from '../metrics';
 *   metrics.recordTransfer({ family: 'backup', job: 'warehouse', connection: 'partner_a', bytes, files, seconds });
 *
 * Label values are names from the config (family, export/pipeline/inbox name, connection name,
 * workflow and activity type, error type) — never paths, dates, hosts or anything unbounded.
 * The export family's numbers are collected by the worker's activity interceptor from the
 * activities' results (see activity-interceptor.ts), so its code has no metrics calls.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const FAMILIES = ['export', 'ingest', 'inbox', 'backup', 'etl', 'system'] as const;
export type Family = (typeof FAMILIES)[number] | 'other';

export const registry = new Registry();

const transferBytes = new Counter({
  name: 'bqsftp_transfer_bytes_total',
  help: 'Bytes moved to or from SFTP by completed transfers, by family, job (export/pipeline/inbox name) and SFTP connection',
  labelNames: ['family', 'job', 'connection'] as const,
  registers: [registry],
});
const transferFiles = new Counter({
  name: 'bqsftp_transfer_files_total',
  help: 'Files moved by completed transfers (files a resumed attempt skipped are not counted again)',
  labelNames: ['family', 'job', 'connection'] as const,
  registers: [registry],
});
const transferDuration = new Histogram({
  name: 'bqsftp_transfer_duration_seconds',
  help: 'Duration of completed transfer activities',
  labelNames: ['family', 'job', 'connection'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
  registers: [registry],
});
const runs = new Counter({
  name: 'bqsftp_runs_total',
  help: 'Workflow runs that closed on this worker, by family, workflow type, job and status (succeeded, failed, cancelled, continued_as_new)',
  labelNames: ['family', 'workflow', 'job', 'status'] as const,
  registers: [registry],
});
const lastSuccess = new Gauge({
  name: 'bqsftp_run_last_success_timestamp_seconds',
  help: 'Unix time of the last successful run seen by this worker process',
  labelNames: ['family', 'workflow', 'job'] as const,
  registers: [registry],
});
const retries = new Counter({
  name: 'bqsftp_activity_retries_total',
  help: 'Failed activity attempts that Temporal retries (the error was not non-retryable), by family, activity and error type',
  labelNames: ['family', 'activity', 'error_type'] as const,
  registers: [registry],
});
const activityFailures = new Counter({
  name: 'bqsftp_activity_failures_total',
  help: 'Failed activity attempts, by family, activity, error type and whether Temporal may retry them',
  labelNames: ['family', 'activity', 'error_type', 'retryable'] as const,
  registers: [registry],
});
const ingestRows = new Counter({
  name: 'bqsftp_ingest_rows_total',
  help: 'Rows written to the database by ingest jobs, by job (tenant) and table/event type',
  labelNames: ['job', 'table'] as const,
  registers: [registry],
});
const etlDeadLetters = new Counter({
  name: 'bqsftp_etl_dead_letters_total',
  help: 'Records sent to the ETL dead-letter file, by pipeline and rule (<field>:<rule>)',
  labelNames: ['job', 'rule'] as const,
  registers: [registry],
});
const etlRecords = new Counter({
  name: 'bqsftp_etl_records_total',
  help: 'Records the ETL transform processed successfully, by pipeline',
  labelNames: ['job'] as const,
  registers: [registry],
});
const inboxBacklog = new Gauge({
  name: 'bqsftp_inbox_backlog_files',
  help: 'Files waiting in an inbox folder at its last scan (complete + still being uploaded)',
  labelNames: ['inbox'] as const,
  registers: [registry],
});

type PoolSource = () => Record<string, { open: number; idle: number; busy: number; waiting: number }>;
let poolSource: PoolSource | undefined;
new Gauge({
  name: 'bqsftp_sftp_pool_connections',
  help: 'SFTP connections in the worker pool by connection name and state (in_use, idle)',
  labelNames: ['connection', 'state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [connection, s] of Object.entries(poolSource?.() ?? {})) {
      this.set({ connection, state: 'in_use' }, s.busy);
      this.set({ connection, state: 'idle' }, s.idle);
    }
  },
});
new Gauge({
  name: 'bqsftp_sftp_pool_waiting',
  help: 'Sessions waiting for a free SFTP connection (the connection is at max_connections)',
  labelNames: ['connection'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [connection, s] of Object.entries(poolSource?.() ?? {})) this.set({ connection }, s.waiting);
  },
});
const buildInfo = new Gauge({
  name: 'bqsftp_build_info',
  help: 'Always 1: the worker\'s package version, build id (version + workflow bundle digest) and Temporal SDK version',
  labelNames: ['version', 'build_id', 'sdk_version'] as const,
  registers: [registry],
});

/** Family of a workflow or activity type by its name (ExportWorkflow → export, inboxScan → inbox). */
export function familyOf(typeName: string): Family {
  const n = typeName.toLowerCase();
  for (const f of ['ingest', 'inbox', 'backup', 'etl'] as const) if (n.startsWith(f)) return f;
  if (n.startsWith('ping')) return 'system';
  if (['exportworkflow', 'dailyexportsworkflow', 'transferworkflow', 'verifyworkflow', 'bqexport', 'transferfiles', 'verifysync', 'configuredexports'].includes(n)) return 'export';
  return 'other';
}

/** A label value: a bounded name. Anything that looks like a path or is long is cut to a safe form. */
function label(v: string | undefined, fallback = ''): string {
  if (!v) return fallback;
  return v.length > 100 || v.includes('/') ? fallback || 'other' : v;
}

/** The hooks; every family may call them (activities run in the worker process that serves /metrics). */
export const metrics = {
  registry,
  recordTransfer(t: { family: Family; job: string; connection?: string; bytes: number; files: number; seconds?: number }): void {
    const l = { family: t.family, job: label(t.job), connection: label(t.connection, 'default') };
    transferBytes.inc(l, t.bytes);
    transferFiles.inc(l, t.files);
    if (t.seconds !== undefined) transferDuration.observe(l, t.seconds);
  },
  runFinished(r: { family: Family; workflow: string; job: string; status: string }): void {
    const l = { family: r.family, workflow: label(r.workflow), job: label(r.job) };
    runs.inc({ ...l, status: r.status });
    if (r.status === 'succeeded') lastSuccess.set(l, Date.now() / 1000);
  },
  activityFailed(a: { family: Family; activity: string; errorType: string; retryable: boolean }): void {
    const l = { family: a.family, activity: label(a.activity), error_type: label(a.errorType, 'Error') };
    activityFailures.inc({ ...l, retryable: String(a.retryable) });
    if (a.retryable) retries.inc(l);
  },
  ingestRows(job: string, table: string, rows: number): void {
    ingestRows.inc({ job: label(job), table: label(table) }, rows);
  },
  etlDeadLetters(job: string, byRule: Record<string, number>): void {
    for (const [rule, n] of Object.entries(byRule)) etlDeadLetters.inc({ job: label(job), rule: label(rule) }, n);
  },
  etlRecords(job: string, n: number): void {
    etlRecords.inc({ job: label(job) }, n);
  },
  inboxBacklog(inbox: string, files: number): void {
    inboxBacklog.set({ inbox: label(inbox) }, files);
  },
  /** the worker's SFTP pool, read at every scrape */
  setPoolSource(source: PoolSource | undefined): void {
    poolSource = source;
  },
  setBuildInfo(info: { version: string; buildId: string; sdkVersion: string }): void {
    buildInfo.reset();
    buildInfo.set({ version: info.version, build_id: info.buildId, sdk_version: info.sdkVersion }, 1);
  },
  /** our metrics in Prometheus text format */
  text(): Promise<string> {
    return registry.metrics();
  },
};
