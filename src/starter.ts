import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from './config';
import { getExport, parseRunDate } from './config';
import { ExportWorkflow, type ExportInput, type ExportResult } from './export/workflow';
import { exportWorkflowId } from './export/naming';
import { ExportDateKey, ExportNameKey, ExportStatusKey } from './workflows/search-attributes';

export interface StartExportOptions {
  exportName: string;
  date: string;
  notifyOnFailure?: boolean;
}

/**
 * Starts ExportWorkflow for one export and date. A second start of the same pair while the first
 * runs joins it (same workflow ID); after it closed, a new run of that ID starts (rerun, retry).
 */
export async function startExport(client: Client, config: Config, opts: StartExportOptions): Promise<WorkflowHandle<typeof ExportWorkflow>> {
  getExport(config, opts.exportName);
  const date = parseRunDate(opts.date);
  const input: ExportInput = { exportName: opts.exportName, date, notifyOnFailure: opts.notifyOnFailure };
  const workflowId = exportWorkflowId(opts.exportName, date);
  try {
    return await client.workflow.start(ExportWorkflow, {
      taskQueue: config.temporal.task_queue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: ExportNameKey, value: opts.exportName },
        { key: ExportDateKey, value: date },
        { key: ExportStatusKey, value: 'running' },
      ],
      staticSummary: `Export ${opts.exportName} for ${date}: BigQuery → GCS → SFTP → verify`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw err;
  }
}

export async function runExport(client: Client, config: Config, opts: StartExportOptions): Promise<ExportResult> {
  return (await startExport(client, config, opts)).result();
}
