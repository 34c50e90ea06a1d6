/**
 * `bq-sftp/client`: the contract for starting and watching runs from your own service.
 *
 * It needs only a Temporal `Client` (from `@temporalio/client`) connected to the namespace the
 * bq-sftp workers poll; it never loads the worker, the config or any Google/SSH client. Workflow
 * inputs carry names and dates only: the worker resolves exports, connections and secrets from its
 * own config. The JSON shapes here are pinned by test/package/contract.test.ts — change them
 * consciously (README "From your own service").
 */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { exportWorkflowId, dailyWorkflowId } from './export/naming';
import { isRunDate } from './config/date';
import { ExportDateKey, ExportNameKey, ExportStatusKey } from './workflows/search-attributes';
import type { ExportInput, ExportResult, ExportProgress, ExportStep } from './export/workflow';
import type { DailyExportsInput, DailyExportsResult, ExportOutcome } from './export/daily-workflow';
import type { ApiTransferInput } from './export/api-workflows';
import type { TransferSummary } from './export/transfer-files';
import type { VerifyResult } from './export/verify-sync';
import type { BqExportResult } from './export/bq-export';
import { etlWorkflowId, runStamp } from './etl/naming';
import { backupWorkflowId, backupVerifyWorkflowId, backupRestoreWorkflowId } from './backup/naming';
import { pollWorkflowId, batchWorkflowId } from './inbox/naming';
import { ingestJobId, type IngestInput, type IngestJob, type JobStatus } from './ingest/job';
import type { DataType, EventType } from './ingest/event-types';
import type { EtlInput, EtlResult, EtlProgress, EtlStep, EtlReplayInput } from './etl/workflow';
import type { BackupInput, BackupResult, BackupTableOutcome } from './backup/workflow';
import type { BackupVerifyResult, BackupRestoreResult } from './backup/activities';
import type { InboxPollInput, InboxPollResult, InboxBatchOutcome } from './inbox/workflow';

export type { ExportInput, ExportResult, ExportProgress, ExportStep, DailyExportsInput, DailyExportsResult, ExportOutcome };
export type { ApiTransferInput, TransferSummary, VerifyResult, BqExportResult };
export type { ExportStatus } from './workflows/search-attributes';
export { exportWorkflowId, dailyWorkflowId };
export type { IngestInput, IngestJob, JobStatus, DataType, EventType };
export type { EtlInput, EtlResult, EtlProgress, EtlStep, EtlReplayInput };
export type { BackupInput, BackupResult, BackupTableOutcome, BackupVerifyResult, BackupRestoreResult };
export type { InboxPollInput, InboxPollResult, InboxBatchOutcome };
export { etlWorkflowId, backupWorkflowId, backupVerifyWorkflowId, backupRestoreWorkflowId, pollWorkflowId as inboxPollWorkflowId, batchWorkflowId as inboxBatchWorkflowId };

/** The progress an in-flight BackupWorkflow answers to query `progress`. */
export interface BackupProgress {
  done: number;
  total: number;
  running: string[];
  failed: string[];
}

/** The task queue the workers poll unless their config says otherwise (`temporal.task_queue`). */
export const DEFAULT_TASK_QUEUE = 'bq-sftp';

/** Workflow type names: what `client.workflow.start(<name>, …)` takes in any Temporal SDK. */
export const WORKFLOW_TYPES = {
  export: 'ExportWorkflow',
  dailyExports: 'DailyExportsWorkflow',
  transfer: 'TransferWorkflow',
  verify: 'VerifyWorkflow',
  ingest: 'IngestWorkflow',
  etl: 'EtlWorkflow',
  etlReplayDeadLetters: 'EtlReplayDlqWorkflow',
  backup: 'BackupWorkflow',
  backupVerify: 'BackupVerifyWorkflow',
  backupRestore: 'BackupRestoreWorkflow',
  inboxPoll: 'InboxPollWorkflow',
  inboxBatch: 'InboxBatchWorkflow',
} as const;

/** Query names. */
export const QUERIES = {
  /** ExportWorkflow → ExportProgress */
  exportProgress: 'progress',
  /** IngestWorkflow → IngestJob */
  ingestJob: 'job',
  /** EtlWorkflow → EtlProgress */
  etlProgress: 'progress',
  /** BackupWorkflow → BackupProgress */
  backupProgress: 'progress',
} as const;

/** Search attributes the runs carry (Keyword), for List filters. */
export const SEARCH_ATTRIBUTES = {
  exportName: 'ExportName',
  exportDate: 'ExportDate',
  /** running | succeeded | failed */
  exportStatus: 'ExportStatus',
  inboxName: 'InboxName',
  /** running | succeeded | failed | skipped */
  inboxStatus: 'InboxStatus',
} as const;

export interface StartExportRequest {
  exportName: string;
  /** the logical date, YYYY-MM-DD */
  date: string;
  /** defaults to DEFAULT_TASK_QUEUE */
  taskQueue?: string;
  /** send the Slack failure notice from this run (default true) */
  notifyOnFailure?: boolean;
}

function checkDate(date: string): void {
  if (!isRunDate(date)) throw new TypeError(`invalid date ${JSON.stringify(date)}: expected YYYY-MM-DD`);
}

/**
 * Starts ExportWorkflow for one export and logical date, with ID `export-<name>-<date>`. While a
 * run of that pair is open a second start joins it (same handle); after it closed, a new run
 * starts (a rerun).
 */
export async function startExport(client: Client, req: StartExportRequest): Promise<WorkflowHandle<(input: ExportInput) => Promise<ExportResult>>> {
  checkDate(req.date);
  const workflowId = exportWorkflowId(req.exportName, req.date);
  const input: ExportInput = { exportName: req.exportName, date: req.date, ...(req.notifyOnFailure === undefined ? {} : { notifyOnFailure: req.notifyOnFailure }) };
  try {
    return await client.workflow.start<(input: ExportInput) => Promise<ExportResult>>(WORKFLOW_TYPES.export, {
      taskQueue: req.taskQueue ?? DEFAULT_TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: ExportNameKey, value: req.exportName },
        { key: ExportDateKey, value: req.date },
        { key: ExportStatusKey, value: 'running' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw err;
  }
}

/** Starts (or joins) an export run and waits for its result; a failed run rejects with WorkflowFailedError. */
export async function runExport(client: Client, req: StartExportRequest): Promise<ExportResult> {
  return (await startExport(client, req)).result();
}

/** The handle of the run of an export and date (whether or not it is still open). */
export function getExportHandle(client: Client, exportName: string, date: string): WorkflowHandle<(input: ExportInput) => Promise<ExportResult>> {
  checkDate(date);
  return client.workflow.getHandle(exportWorkflowId(exportName, date));
}

/** The live progress of an export run (query `progress`). */
export function getExportProgress(handle: WorkflowHandle): Promise<ExportProgress> {
  return handle.query<ExportProgress>(QUERIES.exportProgress);
}

/** Starts (or joins) one export's whole-day fan-out parent `daily-exports-<date>` (all configured exports, or `exports`). */
export async function startDailyExports(client: Client, req: { date: string; exports?: string[]; taskQueue?: string }): Promise<WorkflowHandle<(input: DailyExportsInput) => Promise<DailyExportsResult>>> {
  checkDate(req.date);
  const input: DailyExportsInput = { date: req.date, ...(req.exports ? { exports: req.exports } : {}) };
  return startOrJoin(client, WORKFLOW_TYPES.dailyExports, dailyWorkflowId(req.date), req.taskQueue, input);
}

/** `job_<YYYYMMDD>_<suffix>`: a new ingest job ID (the job's workflow ID). */
export function newIngestJobId(now = new Date(), suffix = Math.random().toString(16).slice(2, 8)): string {
  return ingestJobId(now, suffix);
}

/** Starts an ingest job; its workflow ID is `input.job_id` (a second start of the same ID is refused). */
export function startIngestJob(client: Client, input: IngestInput, opts: { taskQueue?: string } = {}): Promise<WorkflowHandle<(input: IngestInput) => Promise<IngestJob>>> {
  return client.workflow.start<(input: IngestInput) => Promise<IngestJob>>(WORKFLOW_TYPES.ingest, {
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowId: input.job_id,
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
  });
}

/** Starts (or joins) an ETL run `etl-<pipeline>-<stamp>` (stamp `YYYYMMDD_HHMMSS` UTC, default now). */
export function startEtlRun(client: Client, req: { pipeline: string; stamp?: string; taskQueue?: string }): Promise<WorkflowHandle<(input: EtlInput) => Promise<EtlResult>>> {
  const stamp = req.stamp ?? runStamp(new Date());
  return startOrJoin(client, WORKFLOW_TYPES.etl, etlWorkflowId(req.pipeline, stamp), req.taskQueue, { pipeline: req.pipeline, stamp } satisfies EtlInput);
}

/** Starts (or joins) a backup of one configured backup for a date (optionally some tables). */
export function startBackup(client: Client, req: { backup: string; date: string; tables?: string[]; taskQueue?: string }): Promise<WorkflowHandle<(input: BackupInput) => Promise<BackupResult>>> {
  checkDate(req.date);
  const input: BackupInput = { backup: req.backup, date: req.date, ...(req.tables?.length ? { tables: req.tables } : {}) };
  return startOrJoin(client, WORKFLOW_TYPES.backup, backupWorkflowId(req.backup, req.date, req.tables), req.taskQueue, input);
}

/** Starts (or joins) one poll of an inbox now, `inbox-<name>-poll`. */
export function startInboxPoll(client: Client, req: { inbox: string; taskQueue?: string }): Promise<WorkflowHandle<(input: InboxPollInput) => Promise<InboxPollResult>>> {
  return startOrJoin(client, WORKFLOW_TYPES.inboxPoll, pollWorkflowId(req.inbox), req.taskQueue, { inbox: req.inbox } satisfies InboxPollInput);
}

async function startOrJoin<I, R>(client: Client, type: string, workflowId: string, taskQueue: string | undefined, input: I): Promise<WorkflowHandle<(input: I) => Promise<R>>> {
  try {
    return await client.workflow.start<(input: I) => Promise<R>>(type, {
      taskQueue: taskQueue ?? DEFAULT_TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw err;
  }
}
