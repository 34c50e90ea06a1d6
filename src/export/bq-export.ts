import { activityInfo, CancelledFailure, Context, heartbeat, log } from '@temporalio/activity';
import crypto from 'node:crypto';
import type { BigQuery, Job } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { getExport, parseRunDate } from '../config';
import { buildExportStatement } from './export-statement';
import { ensureExpiration } from '../gcs/lifecycle';
import { exportObjectPrefix } from './naming';
import { permanentFailure, withFailureMapping } from '../activities/failures';

export interface BqExportInput {
  exportName: string;
  date: string;
}

export interface BqExportResult {
  job_id: string;
  gcs_path: string;
  row_count?: number;
  statement: string;
}

interface BigQueryApiError extends Error {
  code?: number;
  errors?: { reason?: string; message?: string }[];
}

const PERMANENT_REASONS: Record<string, string> = {
  invalidQuery: 'BigQueryInvalidQuery',
  invalid: 'BigQueryInvalidQuery',
  notFound: 'BigQueryNotFound',
  accessDenied: 'BigQueryAccessDenied',
  responseTooLarge: 'BigQueryInvalidQuery',
};

/**
 * The emulator reports parse and analysis errors as `jobInternalError`; they are as permanent
 * as real BigQuery's `invalidQuery` / `notFound`.
 */
function analysisErrorType(message: string): string | undefined {
  if (!/^failed to (analyze|parse)/.test(message)) return undefined;
  return /not found/i.test(message) ? 'BigQueryNotFound' : 'BigQueryInvalidQuery';
}

/** Query syntax errors, missing tables and permission problems will not heal by retrying. */
function classifyJobError(err: BigQueryApiError): Error {
  const reason = err.errors?.[0]?.reason;
  const text = err.errors?.[0]?.message ?? err.message;
  const type = (reason && PERMANENT_REASONS[reason]) ??
    (err.code === 400 ? 'BigQueryInvalidQuery' : err.code === 404 ? 'BigQueryNotFound' : err.code === 403 ? 'BigQueryAccessDenied' : undefined) ??
    analysisErrorType(text);
  if (type) {
    return permanentFailure(type, `BigQuery refused the export: ${err.message}. Fix the export's query or the table/permissions; retrying will not help.`);
  }
  return err;
}

const POLL_MS = 2000;

function cancelledWhileWaiting(): CancelledFailure {
  return new CancelledFailure('cancelled while waiting for the BigQuery job');
}

/**
 * Polls until the job is DONE. One abort listener for the whole wait (removed at the end); a
 * cancellation that lands during a poll wins the race against it, so `job.cancel()` is reached.
 */
async function waitForJob(job: Job, signal: AbortSignal, pollMs = POLL_MS): Promise<Record<string, unknown>> {
  if (signal.aborted) throw cancelledWhileWaiting();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelledWhileWaiting());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined); // handled by the races below
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const [metadata] = await Promise.race([job.getMetadata(), aborted]);
      if (signal.aborted) throw cancelledWhileWaiting();
      const status = metadata.status ?? {};
      if (status.state === 'DONE') {
        if (status.errorResult) {
          throw classifyJobError(Object.assign(new Error(status.errorResult.message ?? 'job failed'), {
            errors: [status.errorResult],
          }) as BigQueryApiError);
        }
        return metadata;
      }
      heartbeat({ job_id: job.id, state: status.state });
      await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, pollMs))), aborted]);
      clearTimeout(timer);
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The job id of one attempt of this activity: the same workflow run, activity and attempt always
 * name the same job, so a retry can find what every earlier attempt started (even one that
 * crashed before its first heartbeat).
 */
export function attemptJobId(exportName: string, date: string, lineage: { workflowId: string; runId: string; activityId: string }, attempt: number): string {
  const key = crypto.createHash('sha256').update(`${lineage.workflowId}\0${lineage.runId}\0${lineage.activityId}`).digest('hex').slice(0, 16);
  return `bqsftp_${exportName}_${date.replace(/-/g, '')}_${key}_a${attempt}`;
}

/** How many earlier attempts a retry looks back at (the activity allows 5). */
const LOOKBACK = 10;

type JobState = { job: Job; metadata: Record<string, unknown> & { status?: { state?: string; errorResult?: { message?: string } } } };

async function findJob(bigquery: BigQuery, id: string, location: string | undefined): Promise<JobState | undefined> {
  const job = bigquery.job(id, location ? { location } : {});
  try {
    const [metadata] = await job.getMetadata();
    return { job, metadata };
  } catch (err) {
    if ((err as BigQueryApiError).code === 404) return undefined;
    throw err;
  }
}

/** Removes what an earlier run left under the dated prefix, so GCS holds exactly this run. */
async function clearPrefix(storage: Storage, bucket: string, prefix: string): Promise<void> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix, autoPaginate: true });
  await Promise.all(files.map((f) => f.delete({ ignoreNotFound: true })));
}

export function createBqExport(deps: { config: Config; bigquery: BigQuery; storage: Storage }, opts: { pollMs?: number } = {}) {
  return async function bqExport(input: BqExportInput): Promise<BqExportResult> {
    const exp = getExport(deps.config, input.exportName);
    const date = parseRunDate(input.date);
    const bucket = deps.config.gcs.bucket;
    const objectPrefix = exportObjectPrefix(input.exportName, date);
    const statement = buildExportStatement({
      query: exp.query,
      bucket,
      objectPrefix,
      filePrefix: exp.file_prefix ?? input.exportName,
      date,
      format: exp.format,
      compression: exp.compression,
      header: exp.header,
      fieldDelimiter: exp.field_delimiter,
    });
    const info = activityInfo();
    const signal = Context.current().cancellationSignal;
    const location = deps.config.bigquery?.location;
    const lineage = { workflowId: info.workflowExecution?.workflowId ?? '', runId: info.workflowExecution?.runId ?? '', activityId: info.activityId };
    const idFor = (attempt: number) => attemptJobId(input.exportName, date, lineage, attempt);
    const resultOf = (job: Job, metadata: Record<string, unknown>): BqExportResult => {
      const stats = (metadata.statistics ?? {}) as { query?: { numDmlAffectedRows?: string; totalRows?: string } };
      const rows = stats.query?.numDmlAffectedRows ?? stats.query?.totalRows;
      return { job_id: job.id ?? '', gcs_path: `gs://${bucket}/${objectPrefix}`, row_count: rows === undefined ? undefined : Number(rows), statement };
    };
    const wait = async (job: Job): Promise<BqExportResult> => {
      try {
        return resultOf(job, await waitForJob(job, signal, opts.pollMs));
      } catch (err) {
        if (err instanceof CancelledFailure) await job.cancel().catch(() => undefined);
        throw err;
      }
    };

    // A retry first looks for the jobs earlier attempts of this run started (the one named in the
    // heartbeat, and each attempt's deterministic id): one still running is waited for, not
    // duplicated, and its output is not deleted under it; one that finished is reused.
    const heartbeatJob = (info.heartbeatDetails as { job_id?: string } | undefined)?.job_id;
    const earlierIds = [...new Set([
      ...Array.from({ length: Math.min(info.attempt - 1, LOOKBACK) }, (_, i) => idFor(info.attempt - 1 - i)),
      ...(heartbeatJob ? [heartbeatJob] : []),
    ])];
    if (earlierIds.length) {
      const earlier = (await withFailureMapping('BigQuery', () => Promise.all(earlierIds.map((id) => findJob(deps.bigquery, id, location))))).filter(
        (j): j is JobState => j !== undefined,
      );
      const running = earlier.find((j) => j.metadata.status?.state !== 'DONE');
      const newest = earlier[0];
      if (running) {
        log.info('reattaching to the BigQuery export job an earlier attempt started', { job_id: running.job.id, attempt: info.attempt });
        heartbeat({ job_id: running.job.id, state: running.metadata.status?.state });
        return withFailureMapping('BigQuery', () => wait(running.job));
      }
      if (newest && !newest.metadata.status?.errorResult) {
        log.info('an earlier attempt\'s BigQuery export job finished: reusing its output', { job_id: newest.job.id, attempt: info.attempt });
        return resultOf(newest.job, newest.metadata);
      }
    }

    // No earlier job of this run can still write under the prefix: clear it and start this attempt's job.
    await withFailureMapping('Cloud Storage', () => clearPrefix(deps.storage, bucket, objectPrefix));
    // Housekeeping must not stop a delivery: a bucket we may not administer only gets a warning.
    await ensureExpiration(deps.storage, bucket, `${input.exportName}/`, deps.config.gcs.expiration_days).catch((err: unknown) =>
      log.warn('could not set the GCS lifecycle rule for gcs.expiration_days', { bucket, error: (err as Error).message }),
    );
    return withFailureMapping('BigQuery', async () => {
      const jobId = idFor(info.attempt);
      let job: Job;
      try {
        [job] = await deps.bigquery.createQueryJob({
          query: statement,
          // bound only when used: the emulator refuses parameters a query does not reference
          ...(/@run_date\b/.test(statement) ? { params: { run_date: date } } : {}),
          jobId,
          location,
        });
      } catch (err) {
        // 409: this attempt's job exists already (the insert's answer was lost): wait for it
        const existing = (err as BigQueryApiError).code === 409 ? await findJob(deps.bigquery, jobId, location) : undefined;
        if (!existing) throw classifyJobError(err as BigQueryApiError);
        job = existing.job;
      }
      heartbeat({ job_id: job.id });
      log.info('BigQuery export job started', { job_id: job.id, export: input.exportName, date, attempt: info.attempt });
      return wait(job);
    });
  };
}
