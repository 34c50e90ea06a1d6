import {
  ApplicationFailure,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, BqExportResult, TransferSummary, VerifyResult } from '../activities';
import { describeFailure } from '../workflows/describe-failure';
import { heartbeatingTransferOptions, longBigQueryJobOptions, shortNotifyOptions, verificationOptions } from '../workflows/activity-options';
import { ExportDateKey, ExportNameKey, ExportStatusKey, type ExportStatus } from '../workflows/search-attributes';

export interface ExportInput {
  exportName: string;
  /** the logical date, YYYY-MM-DD */
  date: string;
  /** send the Slack failure notice from this run (a fan-out parent sends one summary instead) */
  notifyOnFailure?: boolean;
}

export interface ExportResult {
  export_name: string;
  date: string;
  workflow_id: string;
  bq_export: BqExportResult;
  transfer: TransferSummary;
  verify: VerifyResult;
}

export type ExportStep = 'bq_export' | 'transfer' | 'verify';

export interface ExportProgress {
  export_name: string;
  date: string;
  step: ExportStep | 'done' | 'failed';
  gcs_path?: string;
  files_total?: number;
  files_transferred?: number;
  total_mb?: number;
  in_sync?: boolean;
  error?: { step: ExportStep; type: string; message: string; attempts?: number };
}

export const exportProgressQuery = defineQuery<ExportProgress>('progress');

const longBigQueryJob = proxyActivities<Activities>(longBigQueryJobOptions);
const heartbeatingTransfer = proxyActivities<Activities>(heartbeatingTransferOptions);
const verification = proxyActivities<Activities>(verificationOptions);
const shortNotify = proxyActivities<Activities>(shortNotifyOptions);

export { describeFailure };

function setStatus(status: ExportStatus): void {
  upsertSearchAttributes([{ key: ExportStatusKey, value: status }]);
}

/** BigQuery → GCS → SFTP → verify for one export and one logical date. */
export async function ExportWorkflow(input: ExportInput): Promise<ExportResult> {
  const { exportName, date } = input;
  const progress: ExportProgress = { export_name: exportName, date, step: 'bq_export' };
  setHandler(exportProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: ExportNameKey, value: exportName },
    { key: ExportDateKey, value: date },
    { key: ExportStatusKey, value: 'running' },
  ]);
  setCurrentDetails(`Exporting **${exportName}** for ${date}: BigQuery export running`);

  let step: ExportStep = 'bq_export';
  try {
    const bq = await longBigQueryJob.bqExport({ exportName, date });
    progress.gcs_path = bq.gcs_path;

    step = progress.step = 'transfer';
    setCurrentDetails(`Exporting **${exportName}** for ${date}: transferring ${bq.gcs_path} to SFTP`);
    const transfer = await heartbeatingTransfer.transferFiles({ exportName, date, gcsPath: bq.gcs_path });
    Object.assign(progress, { files_total: (transfer.files_count ?? transfer.files.length), files_transferred: transfer.files_transferred, total_mb: transfer.total_mb });

    step = progress.step = 'verify';
    setCurrentDetails(`Exporting **${exportName}** for ${date}: verifying ${(transfer.files_count ?? transfer.files.length)} files on SFTP`);
    const verify = await verification.verifySync({ exportName, date, gcsPath: bq.gcs_path });
    progress.in_sync = verify.in_sync;
    if (!verify.in_sync) {
      throw ApplicationFailure.nonRetryable(
        `SFTP ${verify.destination} is not in sync with ${bq.gcs_path}: missing ${JSON.stringify(verify.missing_on_sftp)}, ` +
          `extra ${JSON.stringify(verify.extra_on_sftp)}, size mismatches ${verify.counts?.size_mismatches ?? verify.size_mismatches.length}, ` +
          `checksum mismatches ${verify.counts?.checksum_mismatches ?? verify.checksum_mismatches.length}` +
          (verify.truncated ? ` (lists cut to their first entries; full report ${verify.full_report})` : ''),
        'NotInSync',
        verify,
      );
    }

    progress.step = 'done';
    setStatus('succeeded');
    setCurrentDetails(
      `**${exportName}** ${date}: ${(transfer.files_count ?? transfer.files.length)} files, ${transfer.total_mb} MB → ${transfer.connection ? `${transfer.connection}:` : ''}${transfer.destination}, verified in sync`,
    );
    return { export_name: exportName, date, workflow_id: workflowInfo().workflowId, bq_export: bq, transfer, verify };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failure = describeFailure(err);
    progress.step = 'failed';
    progress.error = { step, ...failure };
    setStatus('failed');
    setCurrentDetails(`**${exportName}** ${date} failed at ${step}: ${failure.type}: ${failure.message}`);
    if (input.notifyOnFailure !== false) {
      const info = workflowInfo();
      try {
        await shortNotify.notifySlack({
          title: `bq-sftp export ${exportName} for ${date} failed`,
          export_name: exportName,
          date,
          failed_step: step,
          error_type: failure.type,
          error_message: failure.message,
          attempts: failure.attempts,
          workflow_id: info.workflowId,
          run_id: info.runId,
        });
      } catch (notifyErr) {
        // a Slack outage must never hide the original error
        log.error('failure notice could not be sent to Slack', { error: describeFailure(notifyErr).message });
      }
    }
    throw err;
  }
}
