import { activityInfo, CancelledFailure, Context, heartbeat, log } from '@temporalio/activity';
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

async function waitForJob(job: Job, signal: AbortSignal): Promise<Record<string, unknown>> {
  for (;;) {
    const [metadata] = await job.getMetadata();
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
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, 2000);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new CancelledFailure('cancelled while waiting for the BigQuery job'));
      }, { once: true });
    });
  }
}

/** Removes what an earlier run left under the dated prefix, so GCS holds exactly this run. */
async function clearPrefix(storage: Storage, bucket: string, prefix: string): Promise<void> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix, autoPaginate: true });
  await Promise.all(files.map((f) => f.delete({ ignoreNotFound: true })));
}

export function createBqExport(deps: { config: Config; bigquery: BigQuery; storage: Storage }) {
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
    await withFailureMapping('Cloud Storage', () => clearPrefix(deps.storage, bucket, objectPrefix));
    // Housekeeping must not stop a delivery: a bucket we may not administer only gets a warning.
    await ensureExpiration(deps.storage, bucket, `${input.exportName}/`, deps.config.gcs.expiration_days).catch((err: unknown) =>
      log.warn('could not set the GCS lifecycle rule for gcs.expiration_days', { bucket, error: (err as Error).message }),
    );
    return withFailureMapping('BigQuery', async () => {
      const signal = Context.current().cancellationSignal;
      let job: Job;
      try {
        [job] = await deps.bigquery.createQueryJob({
          query: statement,
          // bound only when used: the emulator refuses parameters a query does not reference
          ...(/@run_date\b/.test(statement) ? { params: { run_date: date } } : {}),
          jobPrefix: `bqsftp_${input.exportName}_${date.replace(/-/g, '')}_`,
          location: deps.config.bigquery?.location,
        });
      } catch (err) {
        throw classifyJobError(err as BigQueryApiError);
      }
      log.info('BigQuery export job started', { job_id: job.id, export: input.exportName, date, attempt: activityInfo().attempt });
      try {
        const metadata = await waitForJob(job, signal);
        const stats = (metadata.statistics ?? {}) as { query?: { numDmlAffectedRows?: string; totalRows?: string } };
        const rows = stats.query?.numDmlAffectedRows ?? stats.query?.totalRows;
        return { job_id: job.id ?? '', gcs_path: `gs://${bucket}/${objectPrefix}`, row_count: rows === undefined ? undefined : Number(rows), statement };
      } catch (err) {
        if (err instanceof CancelledFailure) await job.cancel().catch(() => undefined);
        throw err;
      }
    });
  };
}
