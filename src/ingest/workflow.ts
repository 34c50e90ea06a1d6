import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { IngestActivities } from './activities';
import { recordKeys, type EventType } from './event-types';
import { timeoutMessage, type IngestInput, type IngestJob } from './job';

export const ingestJobQuery = defineQuery<IngestJob>('job');

// Activities learn of a cancel (timeout, `ingest cancel`) at their next heartbeat; the workflow
// waits until they have stopped before it records the job as failed.
const loadOptions: ActivityOptions = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '10 seconds', // the SDK sends heartbeats at most every 8 s (0.8 × this): a cancel arrives within ~8 s
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};
const recordOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 30 },
};

const load = proxyActivities<IngestActivities>(loadOptions);
const record = proxyActivities<IngestActivities>(recordOptions);

/** The innermost ApplicationFailure's type and message. */
function failureOf(err: unknown): { type: string; message: string } {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure || (cur instanceof Error && !(cur instanceof ApplicationFailure) && (cur as { cause?: unknown }).cause)) {
    cur = (cur as { cause?: unknown }).cause;
  }
  if (cur instanceof ApplicationFailure) return { type: cur.type ?? 'Error', message: cur.message };
  return { type: 'Error', message: err instanceof Error ? err.message : String(err) };
}

/**
 * One ingest job (seed 001): the tenant's event types from BigQuery (bounded parallel, one
 * activity each) and the users/locations files from SFTP into PostgreSQL. Keeps the seed's job
 * record (query `job`, mirrored into processing_jobs); fails after `timeout_seconds`.
 */
export async function IngestWorkflow(input: IngestInput): Promise<IngestJob> {
  const info = workflowInfo();
  const job: IngestJob = {
    job_id: input.job_id,
    tenant_id: input.tenant,
    status: 'queued',
    data_types: input.data_types,
    start_date: input.start_date,
    end_date: input.end_date,
    records_processed: {},
    created_at: info.startTime.toISOString(),
  };
  setHandler(ingestJobQuery, () => job);
  let seq = 0;
  const mirror = () => {
    const snapshot = { job: JSON.parse(JSON.stringify(job)) as IngestJob, run_id: info.runId, seq: ++seq };
    return CancellationScope.nonCancellable(() => record.recordIngestJob(snapshot));
  };
  const label = `ingest **${input.tenant}** ${input.start_date} → ${input.end_date} (${input.data_types.join(', ')})`;
  setCurrentDetails(`${label}: queued`);
  await mirror();

  const timeoutSeconds = input.timeout_seconds ?? 1800;
  let timedOut = false;
  const work = new CancellationScope();
  const timer = new CancellationScope();
  void timer
    .run(() => sleep(timeoutSeconds * 1000))
    .then(
      () => {
        timedOut = true;
        work.cancel();
      },
      () => undefined,
    );

  let failure: { type: string; message: string } | undefined;
  let cancelled = false;
  try {
    await work.run(async () => {
      const plan = await record.ingestPlan({ tenant: input.tenant, data_types: input.data_types, event_types: input.event_types });
      for (const k of recordKeys(input.data_types, plan.event_types)) job.records_processed[k] = 0;
      job.status = 'processing';
      job.started_at = new Date().toISOString();
      setCurrentDetails(`${label}: processing`);
      await mirror();

      const tasks: (() => Promise<void>)[] = [];
      if (input.data_types.includes('events')) {
        const queue: EventType[] = [...plan.event_types];
        const runner = async () => {
          for (let t = queue.shift(); t; t = queue.shift()) {
            const type = t;
            try {
              const r = await load.ingestEvents({ jobId: input.job_id, tenant: input.tenant, eventType: type, startDate: input.start_date, endDate: input.end_date });
              job.records_processed[type] = r.rows;
              await mirror();
            } catch (err) {
              throw Object.assign(err as Error, { ingestPart: type });
            }
          }
        };
        for (let i = 0; i < Math.min(plan.max_parallel, queue.length); i++) tasks.push(runner);
      }
      for (const kind of ['users', 'locations'] as const) {
        if (!input.data_types.includes(kind)) continue;
        tasks.push(async () => {
          try {
            const r = await load.ingestFile({ jobId: input.job_id, tenant: input.tenant, kind });
            job.records_processed[`${kind}_processed`] = r.rows;
            if (r.bad_rows.count) (job.bad_rows ??= {})[kind] = r.bad_rows;
            await mirror();
          } catch (err) {
            throw Object.assign(err as Error, { ingestPart: kind });
          }
        });
      }
      // the first failure stops the rest; the job reports that first failure
      let first: unknown;
      await Promise.all(
        tasks.map((task) =>
          task().catch((err: unknown) => {
            if (first === undefined && !isCancellation(err)) {
              first = err;
              work.cancel();
            } else if (first === undefined) first = err;
          }),
        ),
      );
      if (first !== undefined) throw first;
    });
  } catch (err) {
    if (timedOut) failure = { type: 'JobTimedOut', message: timeoutMessage(timeoutSeconds) };
    else if (isCancellation(err)) {
      cancelled = true;
      failure = { type: 'JobCancelled', message: 'cancelled' };
    } else {
      const f = failureOf(err);
      const part = (err as { ingestPart?: string }).ingestPart;
      failure = { type: f.type, message: part ? `${part}: ${f.message}` : f.message };
    }
  } finally {
    timer.cancel();
  }

  job.completed_at = new Date().toISOString();
  if (failure) {
    job.status = 'failed';
    job.error_message = failure.message;
    job.error_type = failure.type;
    setCurrentDetails(`${label}: failed: ${failure.message}`);
  } else {
    job.status = 'completed';
    const total = Object.values(job.records_processed).reduce((a, b) => a + b, 0);
    setCurrentDetails(`${label}: completed, ${total} records`);
  }
  await mirror();
  if (failure) {
    log.warn('ingest job failed', { job_id: job.job_id, type: failure.type, message: failure.message, cancelled });
    // a cancelled or timed-out job ends as a failed run, like its record
    throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true, details: [job] });
  }
  return job;
}
