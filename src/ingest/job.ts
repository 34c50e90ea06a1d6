/**
 * The seed's job record and the IngestWorkflow's contract (input, query). No Node built-ins:
 * the workflow, the activities, the CLI and the HTTP API share these types.
 */
import type { DataType, EventType } from './event-types';

export type JobStatus = 'queued' | 'processing' | 'completed' | 'failed';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'processing', 'completed', 'failed'];

/** The seed's "Job Status Response", plus the tenant, the failure's type and skipped bad rows. */
export interface IngestJob {
  job_id: string;
  tenant_id: string;
  status: JobStatus;
  data_types: DataType[];
  start_date: string;
  end_date: string;
  records_processed: Record<string, number>;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  error_message?: string;
  error_type?: string;
  /** rows of the users/locations files skipped for a bad value, with their line numbers */
  bad_rows?: Record<string, { count: number; lines: { line: number; error: string }[] }>;
}

export interface IngestInput {
  job_id: string;
  tenant: string;
  start_date: string;
  end_date: string;
  data_types: DataType[];
  /** the job fails after this long (default 1800: "Job timed out after 30 minutes") */
  timeout_seconds?: number;
  /** event types to pull (default: the tenant's configured ones) */
  event_types?: EventType[];
}

/** `job_<YYYYMMDD>_<6 hex>` like the seed's `job_20240101_abc123`. */
export function ingestJobId(createdAt: Date, shortId: string): string {
  const d = createdAt.toISOString().slice(0, 10).replace(/-/g, '');
  return `job_${d}_${shortId}`;
}

export const JOB_ID_PATTERN = /^job_\d{8}_[A-Za-z0-9]{1,32}$/;

/** "Job timed out after 30 minutes" (the seed's message), or seconds when it is not whole minutes. */
export function timeoutMessage(seconds: number): string {
  if (seconds % 60 === 0) {
    const m = seconds / 60;
    return `Job timed out after ${m} minute${m === 1 ? '' : 's'}`;
  }
  return `Job timed out after ${seconds} second${seconds === 1 ? '' : 's'}`;
}
