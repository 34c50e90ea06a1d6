import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { describeFailure, ExportWorkflow } from './workflow';
import { exportWorkflowId } from './naming';
import { logicalDate } from '../workflows/logical-date';
import { shortNotifyOptions } from '../workflows/activity-options';
import { ExportDateKey, ExportStatusKey, ScheduledStartTimeKey } from '../workflows/search-attributes';

export interface DailyExportsInput {
  /** the logical date; when absent it is derived from the schedule's scheduled time */
  date?: string;
  /** a subset of the configured exports; all of them when absent */
  exports?: string[];
  maxParallel?: number;
  /** logical date = scheduled day minus this many days (1: yesterday's data) */
  dateOffsetDays?: number;
  timezone?: string;
}

export interface ExportOutcome {
  export_name: string;
  workflow_id: string;
  status: 'succeeded' | 'failed';
  files?: number;
  total_mb?: number;
  error?: { type: string; message: string };
}

export interface DailyExportsResult {
  date: string;
  succeeded: number;
  failed: number;
  exports: ExportOutcome[];
}

const config = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5 } });
const shortNotify = proxyActivities<Activities>(shortNotifyOptions);

/** Every configured export (or a subset) for one logical date, as child runs in parallel. */
export async function DailyExportsWorkflow(input: DailyExportsInput = {}): Promise<DailyExportsResult> {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTimeKey);
  const date = input.date ?? logicalDate(scheduled ?? new Date(info.startTime), input.dateOffsetDays ?? 1, input.timezone ?? 'UTC');
  const names = input.exports?.length ? input.exports : await config.configuredExports();
  if (!names.length) throw ApplicationFailure.nonRetryable('no exports are configured', 'NoExports');
  upsertSearchAttributes([
    { key: ExportDateKey, value: date },
    { key: ExportStatusKey, value: 'running' },
  ]);
  setCurrentDetails(`Daily exports for ${date}: ${names.join(', ')}`);

  const outcomes: ExportOutcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const exportName = names[next++];
      const workflowId = exportWorkflowId(exportName, date);
      try {
        const r = await executeChild(ExportWorkflow, { workflowId, args: [{ exportName, date, notifyOnFailure: false }] });
        outcomes.push({ export_name: exportName, workflow_id: workflowId, status: 'succeeded', files: r.transfer.files_count ?? r.transfer.files.length, total_mb: r.transfer.total_mb });
      } catch (err) {
        // this run was cancelled (by hand, or a schedule's cancel_other): end cancelled, do not
        // record the remaining children as failed; a child cancelled on its own is a failed outcome
        if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
        const error = err instanceof WorkflowExecutionAlreadyStartedError
          ? { type: 'AlreadyRunning', message: `${workflowId} is already running (started elsewhere)` }
          : describeFailure(err instanceof ChildWorkflowFailure ? err.cause : err);
        outcomes.push({ export_name: exportName, workflow_id: workflowId, status: 'failed', error: { type: error.type, message: error.message } });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(input.maxParallel ?? 4, names.length)) }, lane));
  outcomes.sort((a, b) => a.export_name.localeCompare(b.export_name));

  const failed = outcomes.filter((o) => o.status === 'failed');
  upsertSearchAttributes([{ key: ExportStatusKey, value: failed.length ? 'failed' : 'succeeded' }]);
  setCurrentDetails(`Daily exports for ${date}: ${outcomes.length - failed.length} succeeded, ${failed.length} failed`);
  if (failed.length) {
    try {
      await shortNotify.notifySlack({
        title: `bq-sftp daily exports for ${date}: ${failed.length} of ${outcomes.length} failed`,
        date,
        failed_step: failed.map((f) => f.export_name).join(', '),
        error_type: failed[0].error!.type,
        error_message: failed[0].error!.message,
        workflow_id: info.workflowId,
        run_id: info.runId,
        failed_exports: failed.map((f) => f.export_name),
        lines: failed.map((f) => `• *${f.export_name}*: ${f.error!.type}: ${f.error!.message}`),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.error('failure summary could not be sent to Slack', { error: describeFailure(err).message });
    }
  }
  return { date, succeeded: outcomes.length - failed.length, failed: failed.length, exports: outcomes };
}
