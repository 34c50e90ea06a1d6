import type { Command } from 'commander';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type * as InternalNonWorkflowModule from '@temporalio/common/lib/internal-non-workflow';
import type { Config } from '../config';
import { getExport } from '../config/exports';
import { parseRunDate, yesterday } from '../config/date';
import type { TransferProgress } from '../activities';
import type * as StarterModule from '../starter';
import type * as ExportWorkflowModule from '../export/workflow';
import type { ExportProgress, ExportResult, ExportWorkflow } from '../export/workflow';
import { exportWorkflowId } from '../export/naming';
import type * as SearchAttributesModule from '../workflows/search-attributes';
import { notify, temporalClient } from './lazy-modules';
import { addConfigOption, optionDate, withClient } from './config-option';
import { EXIT_REFUSED, fail, formatBytes } from './output';

// The Temporal SDK and the export family's modules when a command runs, not to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const payloadCodec = () => require('@temporalio/common/lib/internal-non-workflow') as typeof InternalNonWorkflowModule;
const starter = () => require('../starter') as typeof StarterModule;
const exportWorkflow = () => require('../export/workflow') as typeof ExportWorkflowModule;
const searchAttributes = () => require('../workflows/search-attributes') as typeof SearchAttributesModule;
/* eslint-enable @typescript-eslint/no-require-imports */

interface RunOpts {
  config?: string;
  date?: string;
  wait: boolean;
  json?: boolean;
  force?: boolean;
}

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function formatMb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/**
 * Live transfer progress from the pending activity's last heartbeat, decoded like every other
 * payload of this client: through its codecs (the encryption codec when `encryption` is on).
 */
export async function transferHeartbeat(handle: WorkflowHandle): Promise<TransferProgress | undefined> {
  const { raw } = await handle.describe();
  const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'transferFiles');
  const payloads = pending?.heartbeatDetails?.payloads;
  if (!payloads?.length) return undefined;
  return (await payloadCodec().decodeFromPayloadsAtIndex<TransferProgress>(handle.client.options.loadedDataConverter, 0, payloads)) ?? undefined;
}

function progressLine(p: ExportProgress, hb: TransferProgress | undefined, width = 24): string {
  if (p.step === 'transfer' && hb && hb.bytes_total > 0) {
    const frac = Math.min(1, hb.bytes_done / hb.bytes_total);
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    return `transfer ${bar} ${Math.round(frac * 100)}%  ${Object.keys(hb.done).length}/${hb.files_total} files  ${formatMb(hb.bytes_done)}/${formatMb(hb.bytes_total)} MB`;
  }
  return { bq_export: 'BigQuery export running …', transfer: 'transfer starting …', verify: 'verifying SFTP against GCS …', done: 'done', failed: 'failed' }[p.step];
}

async function waitWithProgress(handle: WorkflowHandle<typeof ExportWorkflow>, tty: boolean): Promise<ExportResult> {
  const result = handle.result();
  if (!tty) return result;
  const { exportProgressQuery } = exportWorkflow();
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => undefined);
  const started = Date.now();
  let last = '';
  let heartbeatProblem: string | undefined;
  while (!finished) {
    let p: ExportProgress | undefined;
    try {
      p = await handle.query(exportProgressQuery);
    } catch {
      // the query needs a worker; keep waiting
    }
    if (p) {
      let hb: TransferProgress | undefined;
      if (p.step === 'transfer') {
        try {
          hb = await transferHeartbeat(handle);
        } catch (err) {
          // shown, not swallowed: a wrong or missing encryption key must not look like "no progress"
          if (heartbeatProblem === undefined) process.stderr.write(`\r\x1b[2Kprogress unavailable: the transfer's heartbeat could not be decoded: ${(err as Error).message}\n`);
          heartbeatProblem = (err as Error).message;
        }
      }
      last = `  ${progressLine(p, hb)}  (${Math.round((Date.now() - started) / 1000)} s)`;
      process.stdout.write(`\r\x1b[2K${last}`);
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
  if (last) process.stdout.write('\r\x1b[2K');
  return result;
}

export function printResult(result: ExportResult, url: string): void {
  const t = result.transfer;
  const v = result.verify;
  out(`✔ ${result.export_name} ${result.date}: ${t.files_count ?? t.files.length} file(s), ${formatBytes(t.total_bytes)} → ${t.destination} in ${t.total_time_seconds} s`);
  for (const f of t.files) out(`    ${f}${t.files_skipped.includes(f) ? '  (already published, skipped)' : ''}`);
  if (t.files_count > t.files.length) out(`    … and ${t.files_count - t.files.length} more (every name: ${t.full_list})`);
  out(`  BigQuery job ${result.bq_export.job_id} → ${result.bq_export.gcs_path}`);
  out(`  verify: in_sync=${v.in_sync}, missing ${v.missing_on_sftp.length}, extra ${v.extra_on_sftp.length}, size mismatches ${v.size_mismatches.length}${v.checked_checksums ? `, checksum mismatches ${v.checksum_mismatches.length}` : ''}`);
  out(`  Web UI: ${url}`);
}

async function runCommand(client: Client, config: Config, exportName: string, opts: RunOpts, retry = false): Promise<number> {
  const { WorkflowFailedError, WorkflowNotFoundError } = temporalClient();
  const { runUrl } = notify();
  const { describeFailure } = exportWorkflow();
  getExport(config, exportName);
  const date = parseRunDate(opts.date ?? yesterday());
  const workflowId = exportWorkflowId(exportName, date);
  if (retry) {
    try {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      if (status.name === 'RUNNING') throw new Error(`${workflowId} is still running; nothing to retry (see \`bq-sftp status ${exportName} --date ${date}\`)`);
      if (status.name === 'COMPLETED' && !opts.force) throw new Error(`${workflowId} succeeded; use --force to run it again`);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new Error(`no run of ${exportName} for ${date} exists yet; use \`bq-sftp run ${exportName} --date ${date}\``);
      throw err;
    }
  }
  const handle = await starter().startExport(client, config, { exportName, date });
  const { runId } = await handle.describe();
  const url = runUrl(config, workflowId, runId);
  if (!opts.wait) {
    if (opts.json) out(JSON.stringify({ workflow_id: workflowId, run_id: runId, url }));
    else out(`Started ${workflowId}\n  Web UI: ${url}`);
    return 0;
  }
  if (!opts.json) out(`Running ${workflowId} (task queue ${config.temporal.task_queue}) …`);
  try {
    const result = await waitWithProgress(handle, !opts.json && process.stdout.isTTY === true);
    if (opts.json) out(JSON.stringify({ status: 'succeeded', url, result }, null, 2));
    else printResult(result, url);
    return 0;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const f = describeFailure(err.cause);
    if (opts.json) out(JSON.stringify({ status: 'failed', url, error: f }, null, 2));
    process.stderr.write(`bq-sftp: ${exportName} ${date} failed: ${f.type}: ${f.message} (Web UI: ${url})\n`);
    return 1;
  }
}

async function statusCommand(client: Client, config: Config, exportName: string, opts: RunOpts): Promise<number> {
  const { WorkflowFailedError, WorkflowNotFoundError } = temporalClient();
  const { runUrl } = notify();
  const { describeFailure, exportProgressQuery } = exportWorkflow();
  getExport(config, exportName);
  const date = parseRunDate(opts.date ?? yesterday());
  const workflowId = exportWorkflowId(exportName, date);
  const handle = client.workflow.getHandle(workflowId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      if (opts.json) out(JSON.stringify({ workflow_id: workflowId, status: 'NOT_FOUND' }));
      else out(`${workflowId}: no run yet`);
      return 3;
    }
    throw err;
  }
  const status: Record<string, unknown> = {
    workflow_id: workflowId,
    run_id: desc.runId,
    status: desc.status.name,
    start_time: desc.startTime.toISOString(),
    close_time: desc.closeTime?.toISOString(),
    url: runUrl(config, workflowId, desc.runId),
  };
  if (desc.status.name === 'COMPLETED') status.result = await handle.result();
  else if (desc.status.name === 'FAILED') {
    try {
      await handle.result();
    } catch (err) {
      status.error = describeFailure(err instanceof WorkflowFailedError ? err.cause : err);
    }
  } else if (desc.status.name === 'RUNNING') {
    status.progress = await handle.query(exportProgressQuery).catch(() => undefined);
  }
  if (opts.json) out(JSON.stringify(status, null, 2));
  else {
    out(`${workflowId}: ${desc.status.name}  (started ${status.start_time}${status.close_time ? `, closed ${status.close_time}` : ''})`);
    const e = status.error as { type: string; message: string } | undefined;
    if (e) out(`  error: ${e.type}: ${e.message}`);
    const p = status.progress as ExportProgress | undefined;
    if (p) out(`  step: ${p.step}`);
    const r = status.result as ExportResult | undefined;
    if (r) out(`  ${r.transfer.files_count ?? r.transfer.files.length} file(s), ${r.transfer.total_mb} MB → ${r.transfer.destination}; in_sync=${r.verify.in_sync}`);
    out(`  Web UI: ${status.url}`);
  }
  return desc.status.name === 'FAILED' ? 1 : 0;
}

/** The export and date of `run`, `retry` and `status`, checked before anything talks to Temporal. */
function checkRunArgs(config: Config, exportName: string, opts: RunOpts): void {
  getExport(config, exportName);
  optionDate(opts.date ?? yesterday(), '--date');
}

type RunsOpts = { config?: string; export?: string; status?: string; limit: string; json?: boolean };

/** `runs` filters; the export name and status go into a visibility query, so only known values pass. */
function checkRunsArgs(config: Config, opts: RunsOpts): void {
  if (opts.export !== undefined) getExport(config, opts.export);
  if (opts.status !== undefined && !['running', 'succeeded', 'failed'].includes(opts.status)) {
    fail(`--status must be running, succeeded or failed (got ${JSON.stringify(opts.status)})`, EXIT_REFUSED);
  }
  if (!/^\d{1,4}$/.test(opts.limit) || Number(opts.limit) < 1 || Number(opts.limit) > 1000) {
    fail(`--limit must be a whole number from 1 to 1000 (got ${JSON.stringify(opts.limit)})`, EXIT_REFUSED);
  }
}

async function runsCommand(client: Client, config: Config, opts: RunsOpts): Promise<number> {
  checkRunsArgs(config, opts);
  const clauses = [`WorkflowType = 'ExportWorkflow'`];
  if (opts.export) clauses.push(`ExportName = '${opts.export}'`);
  if (opts.status) clauses.push(`ExportStatus = '${opts.status}'`);
  const limit = Number(opts.limit);
  const { ExportDateKey, ExportNameKey } = searchAttributes();
  const rows: Record<string, unknown>[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    rows.push({
      workflow_id: wf.workflowId,
      run_id: wf.runId,
      status: wf.status.name,
      export: wf.typedSearchAttributes.get(ExportNameKey),
      date: wf.typedSearchAttributes.get(ExportDateKey),
      start_time: wf.startTime.toISOString(),
      close_time: wf.closeTime?.toISOString(),
    });
    if (rows.length >= limit) break;
  }
  if (opts.json) out(JSON.stringify(rows, null, 2));
  else if (!rows.length) out('No export runs found.');
  else for (const r of rows) out(`${String(r.status).padEnd(11)} ${String(r.workflow_id).padEnd(48)} started ${r.start_time}`);
  return 0;
}


export function registerRunCommands(program: Command): void {
  addConfigOption(
    program
      .command('run <export>')
      .description('run one export for one logical date: BigQuery → GCS → SFTP → verify (needs a worker: `bq-sftp worker`)')
      .option('-d, --date <YYYY-MM-DD>', 'logical date (default: yesterday, UTC)')
      .option('--no-wait', 'start the run and return its workflow ID')
      .option('--json', 'print the result as JSON'),
  ).action((exportName: string, opts: RunOpts) =>
    withClient(opts, (c, cfg) => runCommand(c, cfg, exportName, opts), (cfg) => checkRunArgs(cfg, exportName, opts)),
  );

  addConfigOption(
    program
      .command('retry <export>')
      .description('run a failed (or timed-out, terminated) export again for its date')
      .requiredOption('-d, --date <YYYY-MM-DD>', 'logical date of the run to retry')
      .option('--force', 'also rerun a run that succeeded')
      .option('--no-wait', 'start the run and return its workflow ID')
      .option('--json', 'print the result as JSON'),
  ).action((exportName: string, opts: RunOpts) =>
    withClient(opts, (c, cfg) => runCommand(c, cfg, exportName, opts, true), (cfg) => checkRunArgs(cfg, exportName, opts)),
  );

  addConfigOption(
    program
      .command('status <export>')
      .description('show the state of one export run (exit 1 if it failed, 3 if there is none)')
      .option('-d, --date <YYYY-MM-DD>', 'logical date (default: yesterday, UTC)')
      .option('--json', 'print as JSON'),
  ).action((exportName: string, opts: RunOpts) =>
    withClient(opts, (c, cfg) => statusCommand(c, cfg, exportName, { ...opts, wait: false }), (cfg) => checkRunArgs(cfg, exportName, opts)),
  );

  addConfigOption(
    program
      .command('runs')
      .description('list export runs, newest first')
      .option('-e, --export <name>', 'only this export')
      .option('-s, --status <status>', 'running | succeeded | failed')
      .option('-n, --limit <n>', 'at most this many', '20')
      .option('--json', 'print as JSON'),
  ).action((opts: RunsOpts) => withClient(opts, (c, cfg) => runsCommand(c, cfg, opts), (cfg) => checkRunsArgs(cfg, opts)));
}
