import { defineQuery, isCancellation, log, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createBackupActivities, ExtractResult, BackupVerifyResult, BackupRestoreResult } from './activities';
import type { Activities } from '../activities';
import { heartbeatingTransferOptions, shortNotifyOptions, verificationOptions } from '../workflows/activity-options';
import { describeFailure } from '../workflows/describe-failure';
import { logicalDate } from '../workflows/logical-date';
import { ScheduledStartTimeKey } from '../workflows/search-attributes';

type BackupActivities = ReturnType<typeof createBackupActivities>;

export interface BackupInput {
  backup: string;
  /** the logical date (YYYY-MM-DD); default: the scheduled day (or today) in `timezone` */
  date?: string;
  timezone?: string;
  /** only these tables (the seed's `tables`) */
  tables?: string[];
  notifyOnFailure?: boolean;
}

export interface BackupTableOutcome {
  table: string;
  status: 'success' | 'error';
  rows?: number;
  files?: number;
  bytes?: number;
  location?: string;
  manifest?: string;
  parquet_writer?: string;
  files_resumed?: number;
  retention_removed?: string[];
  step?: string;
  error?: string;
  error_type?: string;
}

/** The seed's `/sync` answer, plus what ran. */
export interface BackupResult {
  dataset: string;
  success: number;
  errors: number;
  tables: BackupTableOutcome[];
  backup: string;
  date: string;
  destination: string;
  format: string;
  skipped_views: string[];
  workflow_id: string;
}

export const backupProgressQuery = defineQuery<{ done: number; total: number; running: string[]; failed: string[] }>('progress');

// Extract and conversion heartbeat like a transfer: a killed worker's attempt is retried within seconds.
const heavy = proxyActivities<BackupActivities>(heartbeatingTransferOptions);
const light = proxyActivities<BackupActivities>(verificationOptions);
const notify = proxyActivities<Activities>(shortNotifyOptions);

/** At most `limit` at once; deterministic (workflow code). */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it);
    }),
  );
}

function runDate(input: BackupInput): string {
  if (input.date) return input.date;
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTimeKey);
  return logicalDate(scheduled ?? new Date(info.startTime), 0, input.timezone ?? 'UTC');
}

/**
 * One backup (a BigQuery dataset) for one logical date: list the tables (views skipped), then per
 * table, several at once, extract → GCS staging → destination → manifest → staging deleted. A
 * table that fails does not stop the others; one Slack message lists the failures.
 */
export async function BackupWorkflow(input: BackupInput): Promise<BackupResult> {
  const date = runDate(input);
  const info = workflowInfo();
  setCurrentDetails(`Backup **${input.backup}** for ${date}: listing tables`);
  const plan = await light.backupListTables({ backup: input.backup, tables: input.tables });
  const outcomes = new Map<string, BackupTableOutcome>();
  /** per table: who wrote its Parquet and where its rows came from ('worker from tabledata.list') */
  const writtenBy = new Map<string, string>();
  const running = new Set<string>();
  for (const m of plan.missing) outcomes.set(m, { table: m, status: 'error', step: 'list', error_type: 'BigQueryNotFound', error: `no table ${m} in ${plan.project}.${plan.dataset}` });
  setHandler(backupProgressQuery, () => ({
    done: [...outcomes.values()].filter((o) => o.status === 'success').length,
    total: plan.tables.length + plan.missing.length,
    running: [...running],
    failed: [...outcomes.values()].filter((o) => o.status === 'error').map((o) => o.table),
  }));
  const details = () => {
    const ok = [...outcomes.values()].filter((o) => o.status === 'success');
    const bad = [...outcomes.values()].filter((o) => o.status === 'error');
    const writers = [...new Set(ok.map((o) => writtenBy.get(o.table)).filter(Boolean))];
    setCurrentDetails(
      `Backup **${input.backup}** (${plan.project}.${plan.dataset}) for ${date} → ${plan.destination}\n` +
        `${plan.format}/${plan.compression}${writers.length ? `, Parquet written by: ${writers.join(', ')}` : ''}\n` +
        `${ok.length}/${plan.tables.length + plan.missing.length} tables done${bad.length ? `, failed: ${bad.map((o) => o.table).join(', ')}` : ''}` +
        `${running.size ? `, running: ${[...running].join(', ')}` : ''}${plan.views.length ? `; views skipped: ${plan.views.join(', ')}` : ''}`,
    );
  };
  details();

  await pool(plan.tables, plan.max_parallel, async (table) => {
    running.add(table);
    details();
    let step = 'extract';
    let extract: ExtractResult | undefined;
    try {
      extract = await heavy.backupExtractTable({ backup: input.backup, date, table });
      if (extract.parquet_writer) writtenBy.set(table, extract.row_source === 'tabledata.list' ? `${extract.parquet_writer} (rows read with tabledata.list)` : extract.parquet_writer);
      step = 'transfer';
      const transfer = await heavy.backupTransferTable({ backup: input.backup, date, table, staging_bucket: extract.staging_bucket, staging_prefix: extract.staging_prefix });
      step = 'manifest';
      const fin = await light.backupFinishTable({ backup: input.backup, date, extract, transfer, workflow_id: info.workflowId, run_id: info.runId });
      outcomes.set(table, {
        table,
        status: 'success',
        rows: extract.row_count,
        files: transfer.files.length,
        bytes: transfer.bytes,
        location: transfer.location,
        manifest: fin.manifest,
        ...(extract.parquet_writer ? { parquet_writer: extract.parquet_writer } : {}),
        files_resumed: transfer.skipped.length,
        ...(fin.retention_removed.length ? { retention_removed: fin.retention_removed } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const f = describeFailure(err);
      outcomes.set(table, { table, status: 'error', step, error_type: f.type, error: f.message });
    } finally {
      running.delete(table);
      details();
    }
  });

  const tables = [...outcomes.values()].sort((a, b) => a.table.localeCompare(b.table));
  const failed = tables.filter((t) => t.status === 'error');
  if (failed.length && input.notifyOnFailure !== false) {
    try {
      await notify.notifySlack({
        title: `bq-sftp backup ${input.backup} for ${date}: ${failed.length} of ${tables.length} tables failed`,
        date,
        failed_step: [...new Set(failed.map((t) => t.step))].join(', '),
        error_type: failed[0].error_type ?? 'Error',
        error_message: failed[0].error ?? '',
        workflow_id: info.workflowId,
        run_id: info.runId,
        lines: [`*Dataset:* ${plan.project}.${plan.dataset}`, ...failed.map((t) => `• ${t.table} (${t.step}): ${t.error_type}: ${(t.error ?? '').slice(0, 300)}`)],
      });
    } catch (e) {
      log.error('backup failure notice could not be sent to Slack', { error: describeFailure(e).message });
    }
  }
  return {
    dataset: plan.dataset,
    success: tables.length - failed.length,
    errors: failed.length,
    tables,
    backup: input.backup,
    date,
    destination: plan.destination,
    format: plan.format,
    skipped_views: plan.views,
    workflow_id: info.workflowId,
  };
}

/** `bq-sftp backup verify`: the destination against each table's manifest (sizes and sha256). */
export async function BackupVerifyWorkflow(input: { backup: string; date: string; tables?: string[] }): Promise<BackupVerifyResult> {
  setCurrentDetails(`Verifying backup **${input.backup}** for ${input.date}`);
  const r = await heavy.backupVerify(input);
  const bad = r.tables.filter((t) => !t.ok).map((t) => t.table);
  setCurrentDetails(`Backup **${input.backup}** ${input.date} at ${r.location}: ${r.ok ? 'verified' : `NOT verified (${bad.join(', ') || 'no tables found'})`}`);
  return r;
}

/** `bq-sftp backup restore`: load a backup into a scratch dataset and compare row counts. */
export async function BackupRestoreWorkflow(input: { backup: string; date: string; to_dataset: string; tables?: string[] }): Promise<BackupRestoreResult> {
  setCurrentDetails(`Restoring backup **${input.backup}** ${input.date} into ${input.to_dataset}`);
  const r = await heavy.backupRestore(input);
  setCurrentDetails(
    `Restored **${input.backup}** ${input.date} into ${input.to_dataset}: ` + r.tables.map((t) => `${t.table} ${t.rows_restored}/${t.rows_manifest} rows`).join(', '),
  );
  return r;
}
