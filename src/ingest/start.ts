import crypto from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import { parseRunDate } from '../config';
import { IngestWorkflow, ingestJobQuery } from './workflow';
import { DATA_TYPES, EVENT_TYPES, type DataType, type EventType } from './event-types';
import { ingestJobId, JOB_ID_PATTERN, type IngestInput, type IngestJob } from './job';
import { getTenant, IngestError, ingestConfig } from './tenants';

/** Bad input for a job: `field` names what was wrong (`start_date`, `data_types`, `tenant`, …). */
export class IngestInputError extends Error {
  constructor(readonly field: string, message: string, readonly status: 400 | 404 = 400) {
    super(`${field}: ${message}`);
  }
}

export interface StartJobRequest {
  tenant: string;
  start_date: unknown;
  end_date: unknown;
  data_types?: unknown;
  event_types?: unknown;
}

function date(field: string, v: unknown): string {
  if (typeof v !== 'string') throw new IngestInputError(field, 'is required, as YYYY-MM-DD');
  try {
    return parseRunDate(v);
  } catch (err) {
    throw new IngestInputError(field, (err as Error).message);
  }
}

function list<T extends string>(field: string, v: unknown, allowed: readonly T[], fallback: readonly T[]): T[] {
  if (v === undefined) return [...fallback];
  if (!Array.isArray(v) || v.length === 0) throw new IngestInputError(field, `must be a non-empty list of ${allowed.join(', ')}`);
  const out: T[] = [];
  for (const x of v) {
    if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
      throw new IngestInputError(field, `unknown type ${JSON.stringify(x)}: use ${allowed.join(', ')}`);
    }
    if (!out.includes(x as T)) out.push(x as T);
  }
  return out;
}

/** The job timeout: JOB_TIMEOUT_SECONDS (the seed's variable) over `ingest.job_timeout_seconds`. */
export function jobTimeoutSeconds(config: Config, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.JOB_TIMEOUT_SECONDS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new IngestInputError('JOB_TIMEOUT_SECONDS', `must be a whole number of seconds ≥ 1 (got ${JSON.stringify(raw)})`);
    return n;
  }
  return ingestConfig(config).job_timeout_seconds;
}

/** Checks a start request against the config (refused before anything talks to Temporal). */
export function buildIngestInput(config: Config, req: StartJobRequest, now = new Date()): IngestInput {
  let t;
  try {
    t = getTenant(config, req.tenant);
  } catch (err) {
    if (err instanceof IngestError) throw new IngestInputError('tenant', err.message, 404);
    throw err;
  }
  const start = date('start_date', req.start_date);
  const end = date('end_date', req.end_date);
  if (end < start) throw new IngestInputError('end_date', `${end} is before start_date ${start}`);
  const dataTypes: DataType[] = list('data_types', req.data_types, DATA_TYPES, DATA_TYPES);
  const eventTypes: EventType[] | undefined = req.event_types === undefined ? undefined : list('event_types', req.event_types, EVENT_TYPES, EVENT_TYPES);
  for (const kind of ['users', 'locations'] as const) {
    if (dataTypes.includes(kind) && !(kind === 'users' ? t.users_file : t.locations_file)) {
      throw new IngestInputError('data_types', `"${kind}" is asked for, but ingest.tenants.${req.tenant}.${kind}_file is not configured`);
    }
  }
  return {
    job_id: ingestJobId(now, crypto.randomBytes(3).toString('hex')),
    tenant: req.tenant,
    start_date: start,
    end_date: end,
    data_types: dataTypes,
    timeout_seconds: jobTimeoutSeconds(config),
    ...(eventTypes ? { event_types: eventTypes } : {}),
  };
}

export async function startIngestJob(client: Client, config: Config, input: IngestInput): Promise<WorkflowHandle<typeof IngestWorkflow>> {
  return client.workflow.start(IngestWorkflow, {
    taskQueue: config.temporal.task_queue,
    workflowId: input.job_id,
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
  });
}

export function assertJobId(jobId: string, field = 'job_id'): void {
  if (!JOB_ID_PATTERN.test(jobId)) throw new IngestInputError(field, `${JSON.stringify(jobId.slice(0, 80))} is not a job ID like job_20250131_abc123`, 404);
}

/** The job record from the workflow's query; undefined when no such run exists. */
export async function queryJob(client: Client, jobId: string): Promise<IngestJob | undefined> {
  try {
    return await client.workflow.getHandle(jobId).query(ingestJobQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
