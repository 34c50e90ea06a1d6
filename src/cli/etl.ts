/**
 * `bq-sftp etl …`: run a pipeline, list runs, show dead letters, replay them after a fix.
 *
 *   etl run <pipeline> [--run YYYYMMDD_HHMMSS] [--no-wait] [--json]
 *   etl runs [--pipeline <name>] [-n 20] [--json]
 *   etl dlq <pipeline> [--run <id>] [-n 100] [--json]      (reads the pipeline's database)
 *   etl replay-dlq <pipeline> --run <id> [--json]
 */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type * as EtlDbModule from '../etl/db';
import type * as EtlStarterModule from '../etl/starter';
import type { EtlResult } from '../etl/workflow';
import { failures, notify, temporalClient } from './lazy-modules';
import { addConfigOption, loadCliConfig, withClient } from './config-option';
import { EXIT_REFUSED, fail } from './output';

// The Temporal client, the ETL starter and its database drivers (pg, SQLite) when a command runs,
// not to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const etlDb = () => require('../etl/db') as typeof EtlDbModule;
const etlStarter = () => require('../etl/starter') as typeof EtlStarterModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

/** Bad input (unknown pipeline, bad run id) is refused with exit 2 before anything is contacted. */
function refuseBadInput(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof etlStarter().EtlInputError) fail(err.message, EXIT_REFUSED);
    throw err;
  }
}

function limitOf(v: string): number {
  if (!/^\d{1,7}$/.test(v) || Number(v) < 1) fail(`--limit must be a whole number ≥ 1 (got ${JSON.stringify(v)})`, EXIT_REFUSED);
  return Number(v);
}

export function printEtlResult(r: EtlResult, url: string): void {
  out(`✔ ${r.pipeline} run ${r.run_id}: ${r.counts.raw} raw → ${r.counts.processed} processed + ${r.counts.dead_lettered} dead letters`);
  for (const [rule, n] of Object.entries(r.reasons).sort((a, b) => b[1] - a[1])) out(`    ${String(n).padStart(7)}  ${rule}`);
  out(`  ${r.database}: raw_users ${r.rows.raw}, processed_users ${r.rows.processed}, dlq_users ${r.rows.dlq}`);
  for (const f of r.files) out(`  sftp ${f.remote_path}  ${f.bytes} bytes  sha256 ${f.sha256.slice(0, 16)}…`);
  if (r.extract.resumed_from_skip) out(`  extract resumed at skip=${r.extract.resumed_from_skip} (attempt ${r.extract.attempts})`);
  out(`  Web UI: ${url}`);
}

async function runCommand(client: Client, config: Config, pipeline: string, opts: { run?: string; wait: boolean; json?: boolean }): Promise<number> {
  const { runUrl } = notify();
  const handle = await etlStarter().startEtlRun(client, config, { pipeline, stamp: opts.run });
  const { runId } = await handle.describe();
  const url = runUrl(config, handle.workflowId, runId);
  if (!opts.wait) {
    out(opts.json ? JSON.stringify({ workflow_id: handle.workflowId, run_id: runId, url }) : `Started ${handle.workflowId}\n  Web UI: ${url}`);
    return 0;
  }
  if (!opts.json) out(`Running ${handle.workflowId} (task queue ${config.temporal.task_queue}) …`);
  try {
    const result = await handle.result();
    if (opts.json) out(JSON.stringify({ status: 'succeeded', url, result }, null, 2));
    else printEtlResult(result, url);
    return 0;
  } catch (err) {
    if (!(err instanceof temporalClient().WorkflowFailedError)) throw err;
    const f = failures().describeFailure(err.cause);
    if (opts.json) out(JSON.stringify({ status: 'failed', url, error: f }, null, 2));
    process.stderr.write(`bq-sftp: ${handle.workflowId} failed: ${f.type}: ${f.message} (Web UI: ${url})\n`);
    return 1;
  }
}

async function runsCommand(client: Client, config: Config, opts: { pipeline?: string; limit: string; json?: boolean }): Promise<number> {
  const limit = limitOf(opts.limit);
  const { runUrl } = notify();
  const clauses = [`WorkflowType = 'EtlWorkflow'`];
  if (opts.pipeline) clauses.push(`WorkflowId STARTS_WITH 'etl-${opts.pipeline}-'`);
  const rows: Record<string, unknown>[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    rows.push({
      workflow_id: wf.workflowId,
      run_id: wf.runId,
      status: wf.status.name,
      start_time: wf.startTime.toISOString(),
      close_time: wf.closeTime?.toISOString(),
      url: runUrl(config, wf.workflowId, wf.runId),
    });
    if (rows.length >= limit) break;
  }
  if (opts.json) out(JSON.stringify(rows, null, 2));
  else if (!rows.length) out('No ETL runs found.');
  else for (const r of rows) out(`${String(r.status).padEnd(11)} ${String(r.workflow_id).padEnd(48)} started ${r.start_time}`);
  return 0;
}

async function dlqCommand(pipeline: string, opts: { config?: string; run?: string; limit: string; json?: boolean }): Promise<void> {
  const config = loadCliConfig(opts);
  const { checkPipeline, checkStamp } = etlStarter();
  refuseBadInput(() => {
    checkPipeline(config, pipeline);
    if (opts.run !== undefined) checkStamp(opts.run);
  });
  const limit = limitOf(opts.limit);
  const db = await etlDb().openEtlDb(config.etl.pipelines[pipeline].database, config.etl.sqlite_path);
  try {
    const rows = await db.deadLetters(pipeline, opts.run, limit);
    if (opts.json) {
      out(JSON.stringify(rows.map((r) => ({ ...r, record: safeParse(r.data), data: undefined })), null, 2));
    } else if (!rows.length) out(`No dead letters for ${pipeline}${opts.run ? ` run ${opts.run}` : ''}.`);
    else {
      const byRule = new Map<string, number>();
      for (const r of rows) byRule.set(r.rule, (byRule.get(r.rule) ?? 0) + 1);
      out(`${rows.length} dead letter(s) of ${pipeline}${opts.run ? ` run ${opts.run}` : ''}${rows.length >= limit ? ` (first ${limit})` : ''}:`);
      for (const [rule, n] of [...byRule].sort((a, b) => b[1] - a[1])) out(`  ${String(n).padStart(7)}  ${rule}`);
      for (const r of rows) out(`${r.run_id}  line ${String(r.line).padEnd(6)} id ${String(r.id ?? '-').padEnd(8)} ${r.error_reason}`);
    }
    process.exitCode = 0;
  } finally {
    await db.close();
  }
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

async function replayCommand(client: Client, config: Config, pipeline: string, opts: { run: string; json?: boolean }): Promise<number> {
  const handle = await etlStarter().startEtlReplay(client, config, { pipeline, stamp: opts.run });
  const url = notify().runUrl(config, handle.workflowId);
  try {
    const r = await handle.result();
    if (opts.json) out(JSON.stringify({ status: 'succeeded', url, result: r }, null, 2));
    else {
      out(`✔ ${pipeline} run ${opts.run}: ${r.recovered} of ${r.replayed} dead letters recovered, ${r.still_dead} still dead`);
      for (const [rule, n] of Object.entries(r.reasons)) out(`    ${String(n).padStart(7)}  ${rule}`);
      for (const f of r.files) out(`  sftp ${f.remote_path}  ${f.bytes} bytes`);
      out(`  Web UI: ${url}`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof temporalClient().WorkflowFailedError)) throw err;
    const f = failures().describeFailure(err.cause);
    if (opts.json) out(JSON.stringify({ status: 'failed', url, error: f }, null, 2));
    process.stderr.write(`bq-sftp: replay of ${pipeline} run ${opts.run} failed: ${f.type}: ${f.message} (Web UI: ${url})\n`);
    return 1;
  }
}

export function registerEtlCommands(program: Command): void {
  const etl = program.command('etl').description('ETL pipelines (seed 002): paginated source → validate/dead letters → enrich → database + SFTP');
  addConfigOption(
    etl
      .command('run <pipeline>')
      .description('run a pipeline once (needs a worker: `bq-sftp worker`)')
      .option('--run <YYYYMMDD_HHMMSS>', 'the run id (default: now, UTC); the same id twice is one run, a finished one reruns and replaces its rows')
      .option('--no-wait', 'start the run and return its workflow ID')
      .option('--json', 'print the result as JSON'),
  ).action((pipeline: string, opts: { config?: string; run?: string; wait: boolean; json?: boolean }) =>
    withClient(opts, (c, cfg) => runCommand(c, cfg, pipeline, opts), (cfg) =>
      refuseBadInput(() => {
        etlStarter().checkPipeline(cfg, pipeline);
        if (opts.run !== undefined) etlStarter().checkStamp(opts.run);
      }),
    ),
  );
  addConfigOption(
    etl
      .command('runs')
      .description('list ETL runs, newest first')
      .option('-p, --pipeline <name>', 'only this pipeline')
      .option('-n, --limit <n>', 'at most this many', '20')
      .option('--json', 'print as JSON'),
  ).action((opts: { config?: string; pipeline?: string; limit: string; json?: boolean }) =>
    withClient(opts, (c, cfg) => runsCommand(c, cfg, opts), (cfg) =>
      refuseBadInput(() => {
        if (opts.pipeline !== undefined) etlStarter().checkPipeline(cfg, opts.pipeline);
        limitOf(opts.limit);
      }),
    ),
  );
  addConfigOption(
    etl
      .command('dlq <pipeline>')
      .description("show a pipeline's dead letters with their reasons (from its database)")
      .option('--run <YYYYMMDD_HHMMSS>', 'only this run')
      .option('-n, --limit <n>', 'at most this many', '100')
      .option('--json', 'print as JSON (each with its record)'),
  ).action((pipeline: string, opts: { config?: string; run?: string; limit: string; json?: boolean }) => dlqCommand(pipeline, opts));
  addConfigOption(
    etl
      .command('replay-dlq <pipeline>')
      .description("re-validate a run's dead letters with the current rules and lookups (after a fix)")
      .requiredOption('--run <YYYYMMDD_HHMMSS>', 'the run whose dead letters to replay')
      .option('--json', 'print the result as JSON'),
  ).action((pipeline: string, opts: { config?: string; run: string; json?: boolean }) =>
    withClient(opts, (c, cfg) => replayCommand(c, cfg, pipeline, opts), (cfg) =>
      refuseBadInput(() => {
        etlStarter().checkPipeline(cfg, pipeline);
        etlStarter().checkStamp(opts.run);
      }),
    ),
  );
}
