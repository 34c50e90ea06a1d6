import { CancelledFailure, heartbeat } from '@temporalio/activity';
import type { BigQuery, Job } from '@google-cloud/bigquery';
import { permanentFailure } from '../activities/failures';
import type { BqField } from './parquet';

export interface TableInfo {
  id: string;
  type: string;
}

interface ApiError extends Error {
  code?: number;
  errors?: { reason?: string; message?: string }[];
}

/** Every table of a dataset with its type (TABLE, VIEW, MATERIALIZED_VIEW, EXTERNAL, ...). */
export async function listDatasetTables(bq: BigQuery, projectId: string, dataset: string): Promise<TableInfo[]> {
  try {
    const [tables] = await bq.dataset(dataset, { projectId }).getTables({ autoPaginate: true });
    return tables.map((t) => ({ id: t.id ?? '', type: String((t.metadata as { type?: string }).type ?? 'TABLE') })).sort((a, b) => a.id.localeCompare(b.id));
  } catch (err) {
    const e = err as ApiError;
    if (e.code === 404) throw permanentFailure('BigQueryNotFound', `BigQuery dataset ${projectId}.${dataset} does not exist: check the backup's project_id and dataset.`);
    throw err;
  }
}

export interface TableMeta {
  schema: BqField[];
  numRows?: number;
  numBytes?: number;
  type: string;
}

export async function tableMetadata(bq: BigQuery, projectId: string, dataset: string, table: string): Promise<TableMeta> {
  try {
    const [meta] = await bq.dataset(dataset, { projectId }).table(table).getMetadata();
    const m = meta as { schema?: { fields?: BqField[] }; numRows?: string; numBytes?: string; type?: string };
    return {
      schema: m.schema?.fields ?? [],
      numRows: m.numRows === undefined ? undefined : Number(m.numRows),
      numBytes: m.numBytes === undefined ? undefined : Number(m.numBytes),
      type: m.type ?? 'TABLE',
    };
  } catch (err) {
    throw notFoundIsPermanent(err, `${projectId}.${dataset}.${table}`);
  }
}

export function notFoundIsPermanent(err: unknown, what: string): unknown {
  const e = err as ApiError;
  const text = `${e.errors?.[0]?.message ?? ''} ${e.message ?? ''}`;
  if (e.code === 404 || e.errors?.[0]?.reason === 'notFound' || /not ?found/i.test(text)) {
    return permanentFailure('BigQueryNotFound', `BigQuery table ${what} does not exist (dropped?): ${e.message}`);
  }
  return err;
}

/** An extract job's refusal of a format this BigQuery service cannot write (the emulator's Parquet/Avro). */
export function isUnsupportedFormat(err: unknown): boolean {
  const e = err as ApiError;
  const text = `${e?.errors?.map((x) => x.message).join(' ') ?? ''} ${e?.message ?? ''}`;
  return /unsupported destination format|not support(ed)? (destination )?format/i.test(text);
}

export interface ExtractJob {
  jobId: string;
}

/** Runs an extract job to `uris` and waits for it, heartbeating. */
export async function runExtract(
  bq: BigQuery,
  args: { projectId: string; dataset: string; table: string; uris: string[]; format: string; compression: string; location?: string; jobPrefix: string },
  signal: AbortSignal,
): Promise<ExtractJob> {
  let job: Job;
  const extract: Record<string, unknown> = {
    sourceTable: { projectId: args.projectId, datasetId: args.dataset, tableId: args.table },
    destinationUris: args.uris,
    destinationFormat: args.format,
  };
  if (args.compression !== 'NONE') extract.compression = args.compression;
  if (args.format === 'PARQUET' || args.format === 'AVRO') extract.useAvroLogicalTypes = true;
  try {
    [job] = await bq.createJob({ configuration: { extract }, jobPrefix: args.jobPrefix, location: args.location });
  } catch (err) {
    throw notFoundIsPermanent(err, `${args.projectId}.${args.dataset}.${args.table}`);
  }
  try {
    for (;;) {
      const [metadata] = await job.getMetadata();
      const status = (metadata as { status?: { state?: string; errorResult?: { message?: string; reason?: string } } }).status ?? {};
      if (status.state === 'DONE') {
        if (status.errorResult) {
          const e = Object.assign(new Error(status.errorResult.message ?? 'extract job failed'), { errors: [status.errorResult] });
          throw notFoundIsPermanent(e, `${args.projectId}.${args.dataset}.${args.table}`);
        }
        return { jobId: job.id ?? '' };
      }
      heartbeat({ job_id: job.id, state: status.state });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 1000);
        signal.addEventListener('abort', () => (clearTimeout(t), reject(new CancelledFailure('cancelled while waiting for the extract job'))), { once: true });
      });
    }
  } catch (err) {
    if (err instanceof CancelledFailure) await job.cancel().catch(() => undefined);
    throw err;
  }
}
