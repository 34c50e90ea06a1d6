/**
 * EtlWorkflow (seed 002): one run of a pipeline — extract (paginated source → raw JSONL staged in
 * GCS) → transform (validate, dead-letter, enrich) → save (database + the three files to SFTP).
 * Only names and counts pass through the history, never records. The run is identified by its
 * stamp `YYYYMMDD_HHMMSS` (given, or the schedule's time, or the start time): workflow ID
 * `etl-<pipeline>-<stamp>`, so starting the same run twice yields one run.
 */
import { ApplicationFailure, defineQuery, isCancellation, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { EtlActivities, ExtractResult, PublishedFile, SaveResult, TransformResult } from './activities';
import type { TableCounts } from './db';
import { isRunStamp, runStamp } from './naming';
import { ScheduledStartTimeKey } from '../workflows/search-attributes';
import { describeFailure } from '../workflows/describe-failure';

export interface EtlInput {
  pipeline: string;
  /** the run's stamp `YYYYMMDD_HHMMSS` (UTC); default: the scheduled time, else the start time */
  stamp?: string;
}

export interface EtlResult {
  pipeline: string;
  run_id: string;
  workflow_id: string;
  counts: { raw: number; processed: number; dead_lettered: number };
  /** dead letters by rule `<field>:<rule>` */
  reasons: Record<string, number>;
  staged: { bucket_objects: { raw: string; processed: string; dlq: string } };
  files: PublishedFile[];
  database: SaveResult['database'];
  rows: SaveResult['rows'];
  extract: Pick<ExtractResult, 'pages' | 'bytes' | 'resumed_from_skip' | 'attempts'>;
}

export type EtlStep = 'extract' | 'transform' | 'save';
export interface EtlProgress {
  pipeline: string;
  run_id: string;
  step: EtlStep | 'done' | 'failed';
  counts?: EtlResult['counts'];
  error?: { step: EtlStep; type: string; message: string };
}
export const etlProgressQuery = defineQuery<EtlProgress>('progress');

// One options set per kind of step. The extract heartbeats every 5 s while it pages (and the next
// skip after every stored part); a worker that died is noticed within 30 s and the retry resumes.
const extractOptions: ActivityOptions = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};
const stepOptions: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
};

const extracting = proxyActivities<EtlActivities>(extractOptions);
const steps = proxyActivities<EtlActivities>(stepOptions);

export function etlRunStamp(input: EtlInput): string {
  if (input.stamp !== undefined) {
    if (!isRunStamp(input.stamp)) throw ApplicationFailure.nonRetryable(`stamp "${input.stamp}" is not a run stamp YYYYMMDD_HHMMSS`, 'InvalidInput');
    return input.stamp;
  }
  const info = workflowInfo();
  return runStamp(info.typedSearchAttributes.get(ScheduledStartTimeKey) ?? new Date(info.startTime));
}

export async function EtlWorkflow(input: EtlInput): Promise<EtlResult> {
  const stamp = etlRunStamp(input);
  const { pipeline } = input;
  const progress: EtlProgress = { pipeline, run_id: stamp, step: 'extract' };
  setHandler(etlProgressQuery, () => progress);
  let step: EtlStep = 'extract';
  try {
    let ex: ExtractResult;
    let tr: TransformResult;
    let rowsLoaded: TableCounts | undefined;
    // one pass since the fused activity (each record parsed and staged once); runs started
    // before it replay their two steps
    if (patched('etl-extract-transform-fused')) {
      setCurrentDetails(`ETL **${pipeline}** ${stamp}: extracting from the source, validating and enriching as the pages arrive`);
      const et = await extracting.etlExtractTransform({ pipeline, stamp });
      ex = et;
      tr = et;
      rowsLoaded = et.rows_loaded;
    } else {
      setCurrentDetails(`ETL **${pipeline}** ${stamp}: extracting from the source`);
      ex = await extracting.etlExtract({ pipeline, stamp });
      step = progress.step = 'transform';
      setCurrentDetails(`ETL **${pipeline}** ${stamp}: ${ex.records} records extracted; validating`);
      tr = await steps.etlTransform({ pipeline, stamp });
    }
    progress.counts = { raw: tr.raw, processed: tr.processed, dead_lettered: tr.dead_lettered };
    step = progress.step = 'save';
    setCurrentDetails(`ETL **${pipeline}** ${stamp}: ${tr.processed} valid, ${tr.dead_lettered} dead letters; saving`);
    const sv = await steps.etlSave({ pipeline, stamp, ...(rowsLoaded ? { rows_loaded: rowsLoaded } : {}) });
    progress.step = 'done';
    setCurrentDetails(`ETL **${pipeline}** ${stamp}: ${tr.raw} raw → ${tr.processed} processed + ${tr.dead_lettered} dead letters; ${sv.database} rows and 3 files in ${sv.destination}`);
    return {
      pipeline,
      run_id: stamp,
      workflow_id: workflowInfo().workflowId,
      counts: progress.counts,
      reasons: tr.reasons,
      staged: { bucket_objects: { raw: ex.raw_object, processed: tr.processed_object, dlq: tr.dlq_object } },
      files: sv.files,
      database: sv.database,
      rows: sv.rows,
      extract: { pages: ex.pages, bytes: ex.bytes, resumed_from_skip: ex.resumed_from_skip, attempts: ex.attempts },
    };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const f = describeFailure(err);
    progress.step = 'failed';
    progress.error = { step, type: f.type, message: f.message };
    setCurrentDetails(`ETL **${pipeline}** ${stamp} failed at ${step}: ${f.type}: ${f.message}`);
    throw err;
  }
}

export interface EtlReplayInput {
  pipeline: string;
  stamp: string;
}

/** Re-validates a run's dead letters with the current rules and lookups (after a fix). */
export async function EtlReplayDlqWorkflow(input: EtlReplayInput) {
  if (!isRunStamp(input.stamp)) throw ApplicationFailure.nonRetryable(`run "${input.stamp}" is not a run stamp YYYYMMDD_HHMMSS`, 'InvalidInput');
  setCurrentDetails(`ETL **${input.pipeline}** ${input.stamp}: replaying dead letters`);
  const r = await steps.etlReplayDlq({ pipeline: input.pipeline, stamp: input.stamp, replayStamp: runStamp(new Date(workflowInfo().startTime)) });
  setCurrentDetails(`ETL **${input.pipeline}** ${input.stamp}: ${r.recovered} of ${r.replayed} dead letters recovered, ${r.still_dead} still dead`);
  return r;
}
