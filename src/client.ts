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

export type { ExportInput, ExportResult, ExportProgress, ExportStep, DailyExportsInput, DailyExportsResult, ExportOutcome };
export type { ApiTransferInput, TransferSummary, VerifyResult, BqExportResult };
export type { ExportStatus } from './workflows/search-attributes';
export { exportWorkflowId, dailyWorkflowId };

/** The task queue the workers poll unless their config says otherwise (`temporal.task_queue`). */
export const DEFAULT_TASK_QUEUE = 'bq-sftp';

/** Workflow type names: what `client.workflow.start(<name>, …)` takes in any Temporal SDK. */
export const WORKFLOW_TYPES = {
  export: 'ExportWorkflow',
  dailyExports: 'DailyExportsWorkflow',
  transfer: 'TransferWorkflow',
  verify: 'VerifyWorkflow',
} as const;

/** Query names. */
export const QUERIES = {
  /** ExportWorkflow → ExportProgress */
  exportProgress: 'progress',
} as const;

/** Search attributes the export runs carry (Keyword), for List filters. */
export const SEARCH_ATTRIBUTES = {
  exportName: 'ExportName',
  exportDate: 'ExportDate',
  /** running | succeeded | failed */
  exportStatus: 'ExportStatus',
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
