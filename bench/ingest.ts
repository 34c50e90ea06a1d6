/**
 * P5: the ingest family (seed 001), two ratios measured in the same run.
 * - Write path: 1,000,000 page_view rows (one month) into PostgreSQL the way the ingest loads them
 *   (EventDayWriter: BigQuery's raw row form → COPY text, one DELETE + COPY + COMMIT per day;
 *   the time to make the rows in this process is measured alone and not counted)
 *   against `psql \copy` of the same rows from a local file (PostgreSQL's own bulk load).
 *   Target ≥ 0.5×.
 * - End to end: rows/s of a whole IngestWorkflow job (page_view, the demo month, in a real
 *   `bq-sftp worker` process) against the rate the BigQuery emulator returns the same rows to a
 *   client that only reads them (same query, same page size). Target ≥ 0.8×. Peak worker RSS
 *   (VmHWM) < 200 MB. Measured twice in the same run: the whole worker as `bq-sftp worker` starts
 *   by default (workflows + activities in one process, default V8 and malloc settings), and the
 *   lean split set-up the README recommends for production (the job's activities in a
 *   `worker --only activities` process with MALLOC_ARENA_MAX=1 and --max-semi-space-size=1,
 *   measured; the workflows in a `worker --only workflows` process).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { configSchema } from '../src/config';
import { clientFor } from '../src/cli/config-option';
import { closePostgresPools, postgresPool } from '../src/postgres/client';
import { migrate } from '../src/postgres/migrate';
import { INGEST_MIGRATIONS, INGEST_MIGRATIONS_TABLE } from '../src/ingest/migrations';
import { EventDayWriter, type RawRow } from '../src/ingest/load-events';
import { ingestSchema } from '../src/ingest/config';
import { eventColumns, eventTable } from '../src/ingest/event-types';
import { buildIngestInput, startIngestJob } from '../src/ingest/start';
import { findPostgresBin } from '../src/stack/postgres';
import { demoDates, ensureIngestDemoData, INGEST_DEMO_DATASET, INGEST_DEMO_END, INGEST_DEMO_START, ingestDemoConfig } from '../src/stack/seed-ingest';
import type { StackInfo } from '../src/stack/stack-info';
import { WorkerProcess } from '../test/faults/helpers/worker-process';
import { leanWorkerEnv, LEAN_SETTINGS } from './lean-env';
import { stat, workerCode, type Stat } from './stats';

export interface P5Result {
  write_rows: number;
  ours_write_rows_per_s: Stat;
  psql_copy_rows_per_s: Stat;
  write_ratio: Stat;
  e2e_rows: number;
  ours_e2e_rows_per_s: Stat;
  emulator_read_rows_per_s: Stat;
  e2e_ratio: Stat;
  peak_rss_mb: Stat;
  idle_rss_mb: Stat;
  page_rows: number;
  /** the same, the job's activities in a lean `worker --only activities` process (measured) */
  split: { ours_e2e_rows_per_s: Stat; emulator_read_rows_per_s: Stat; e2e_ratio: Stat; peak_rss_mb: Stat; idle_rss_mb: Stat };
}

/** Current RSS (VmRSS) of the process or of its largest descendant. */
function vmRssMb(pid: number): number {
  return procStatusMb(pid, 'VmRSS');
}

function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const own = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  let best = own ? Number(own[1]) / 1024 : NaN;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const child of children) best = Math.max(best, procStatusMb(Number(child), field));
  }
  return best;
}


/** the ingest's default page size (ingest.page_rows) */
const PAGE = ingestSchema.parse({}).page_rows;

/** Deterministic page_view rows in BigQuery's raw form over one month (a big tenant's month), page by page. */
function* rawPages(total: number, perPage = PAGE): Generator<RawRow[]> {
  const dates = demoDates('2024-01-01', '2024-01-31');
  const perDay = Math.ceil(total / dates.length);
  let page: RawRow[] = [];
  for (let n = 0; n < total; n++) {
    const d = dates[Math.floor(n / perDay)];
    const u = (n * 7919) % 5000;
    page.push({ f: [d, String(1704067200000000 + n * 1000), `pseudo-${u}`, n % 10 < 7 ? `u${u}` : null, `s${u}`, 'WEB', 'Germany', 'Home', `https://shop.example.com/p${n % 97}`, n % 3 ? null : 'https://www.google.com/'].map((v) => ({ v })) });
    if (page.length === perPage) {
      yield page;
      page = [];
    }
  }
  if (page.length) yield page;
}

function copyText(total: number, tenant: string): string {
  const lines: string[] = [];
  for (const page of rawPages(total)) for (const r of page) lines.push([tenant, ...r.f.map((x) => (x.v === null ? '\\N' : String(x.v)))].join('\t'));
  return lines.join('\n') + '\n';
}

/** Peak RSS (VmHWM) of the process or of its largest descendant (`bq-sftp worker` may re-exec itself with lean V8 flags). */
function vmHwmMb(pid: number): number {
  return procStatusMb(pid, 'VmHWM');
}

export async function p5(opts: { info: StackInfo; benchDir: string; rounds: number; log: (s: string) => void; writeRows?: number; workerEnv?: Record<string, string> }): Promise<P5Result> {
  const { info, benchDir, log } = opts;
  const rows = opts.writeRows ?? 1_000_000;
  const rounds = Math.max(1, opts.rounds);
  const url = `postgres://${info.postgres.user}@${info.postgres.host}:${info.postgres.port}/${info.postgres.database}`;
  const pool = postgresPool({ url });
  await migrate(pool, INGEST_MIGRATIONS, INGEST_MIGRATIONS_TABLE);
  const table = eventTable('page_view');
  const cols = eventColumns('page_view').map((c) => c.name);
  const psql = path.join(findPostgresBin() ?? '/usr/bin', 'psql');
  const file = path.join(benchDir, 'p5-page_view.tsv');
  fs.writeFileSync(file, copyText(rows, 'bench_psql'));
  log(`P5: ingest write path, ${rows.toLocaleString('en-US')} page_view rows, vs psql \\copy of the same rows from ${file} (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB); ${rounds} rounds`);
  const ours: number[] = [];
  const ref: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await pool.query(`DELETE FROM ${table} WHERE tenant_id IN ('bench_ours', 'bench_psql')`);
    let t = process.hrtime.bigint();
    const res = spawnSync(psql, [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${table} (tenant_id, ${cols.join(', ')}) FROM '${file}'`], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`psql \\copy failed: ${res.stderr}`);
    ref.push(rows / (Number(process.hrtime.bigint() - t) / 1e9));
    // the rows arrive from BigQuery already parsed: the time this bench spends making them is not the ingest's
    t = process.hrtime.bigint();
    let made = 0;
    for (const page of rawPages(rows)) made += page.length;
    const generate = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    const writer = new EventDayWriter(pool, 'bench_ours', 'page_view', () => undefined);
    for (const page of rawPages(rows)) await writer.addRows(page);
    await writer.finish();
    ours.push(made / (Number(process.hrtime.bigint() - t) / 1e9 - generate));
    const { rows: n } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = 'bench_ours'`);
    if (Number(n[0].n) !== rows) throw new Error(`the ingest write path stored ${n[0].n} rows, not ${rows}`);
    log(`  round ${r + 1}: ours ${Math.round(ours[r]).toLocaleString('en-US')} rows/s, psql \\copy ${Math.round(ref[r]).toLocaleString('en-US')} rows/s → ${(ours[r] / ref[r]).toFixed(2)}×`);
  }
  await pool.query(`DELETE FROM ${table} WHERE tenant_id IN ('bench_ours', 'bench_psql')`);
  fs.rmSync(file, { force: true });

  // end to end from the emulator
  await ensureIngestDemoData(info, log);
  const dcfg = ingestDemoConfig(info) as { postgres: object; ingest: { tenants: Record<string, Record<string, unknown>> } };
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, unknown>;
  const tenant = 'bench_e2e';
  const config = configSchema.parse({
    ...demo,
    temporal: { ...(demo.temporal as object), task_queue: `bench-p5-${process.pid}` },
    postgres: dcfg.postgres,
    ingest: { page_rows: PAGE, tenants: { [tenant]: { ...dcfg.ingest.tenants.demo, event_types: ['page_view'] } } },
  });
  const configPath = path.join(benchDir, 'p5-config.json');
  fs.writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  const client = await clientFor(config);
  const bq = new BigQuery({ projectId: info.bigquery.projectId, apiEndpoint: info.bigquery.endpoint });
  const sql = `SELECT ${cols.map((c) => `\`${c}\``).join(', ')} FROM \`${info.bigquery.projectId}.${INGEST_DEMO_DATASET}.page_view\` WHERE event_date BETWEEN DATE(@start_date) AND DATE(@end_date) ORDER BY event_date`;
  let e2eRows = 0;

  /** Rounds of (emulator-only reader, whole job) against workers started the given way. */
  const endToEnd = async (setup: { label: string; split: boolean; env: Record<string, string> }) => {
    const ours: number[] = [];
    const read: number[] = [];
    const rss: number[] = [];
    const idle: number[] = [];
    log(`P5: ingest end to end [${setup.label}], page_view of the demo month from the BigQuery emulator, a whole job vs a client that only reads the same rows (page ${PAGE.toLocaleString('en-US')} rows); ${rounds} rounds; worker code: ${workerCode()}`);
    const env = { BQSFTP_LOG_LEVEL: 'WARN', ...setup.env };
    const tag = setup.split ? 'split' : 'whole';
    // a fresh log per run: WorkerProcess.start waits for 'polling task queue', which an earlier run's log already holds
    for (const f of [`p5-${tag}-worker.log`, `p5-${tag}-workflows.log`]) fs.rmSync(path.join(benchDir, f), { force: true });
    const worker = await WorkerProcess.start({ configPath, logPath: path.join(benchDir, `p5-${tag}-worker.log`), env, args: setup.split ? ['--only', 'activities'] : [] });
    const workflowHalf = setup.split ? await WorkerProcess.start({ configPath, logPath: path.join(benchDir, `p5-${tag}-workflows.log`), env, args: ['--only', 'workflows'] }) : undefined;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      idle.push(vmRssMb(worker.pid));
      for (let r = 0; r < rounds; r++) {
        let t = process.hrtime.bigint();
        const [job] = await bq.createQueryJob({ query: sql, params: { start_date: INGEST_DEMO_START, end_date: INGEST_DEMO_END } });
        let token: string | undefined;
        let n = 0;
        for (;;) {
          const [page, next] = (await job.getQueryResults({ maxResults: PAGE, pageToken: token, skipParsing: true, autoPaginate: false } as never)) as unknown as [RawRow[], { pageToken?: string } | null];
          n += page?.length ?? 0;
          token = next?.pageToken;
          if (!token) break;
        }
        read.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
        e2eRows = n;
        await job.delete(); // as the job does (delete_query_jobs): the emulator reloads every stored job on every request
        const input = buildIngestInput(config, { tenant, start_date: INGEST_DEMO_START, end_date: INGEST_DEMO_END, data_types: ['events'] });
        t = process.hrtime.bigint();
        const handle = await startIngestJob(client, config, input);
        const done = await handle.result();
        const seconds = Number(process.hrtime.bigint() - t) / 1e9;
        if (done.records_processed.page_view !== n) throw new Error(`the job loaded ${done.records_processed.page_view} rows, the reader read ${n}`);
        ours.push(n / seconds);
        rss.push(vmHwmMb(worker.pid));
        log(`  round ${r + 1}: job ${Math.round(ours[r]).toLocaleString('en-US')} rows/s (${seconds.toFixed(1)} s), reader ${Math.round(read[r]).toLocaleString('en-US')} rows/s → ${(ours[r] / read[r]).toFixed(2)}×; worker peak RSS ${rss[r].toFixed(0)} MB (${idle[0].toFixed(0)} MB idle before the first job); load ${os.loadavg()[0].toFixed(1)}`);
      }
    } finally {
      await workflowHalf?.stop();
      await worker.stop();
    }
    return { ours_e2e_rows_per_s: stat(ours), emulator_read_rows_per_s: stat(read), e2e_ratio: stat(ours.map((o, i) => o / read[i])), peak_rss_mb: stat(rss), idle_rss_mb: stat(idle) };
  };

  let whole: Awaited<ReturnType<typeof endToEnd>>;
  let split: Awaited<ReturnType<typeof endToEnd>>;
  try {
    whole = await endToEnd({ label: `whole worker (workflows + activities), ${Object.keys(opts.workerEnv ?? {}).length ? `with ${Object.entries(opts.workerEnv!).map(([k, v]) => `${k}=${v}`).join(' ')}` : 'default settings'}`, split: false, env: opts.workerEnv ?? {} });
    split = await endToEnd({ label: `split lean: activities-only worker (measured) with ${LEAN_SETTINGS}, workflows in another`, split: true, env: leanWorkerEnv() });
  } finally {
    await client.connection.close();
    await pool.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [tenant]).catch(() => undefined);
    await closePostgresPools();
  }
  return {
    write_rows: rows,
    ours_write_rows_per_s: stat(ours),
    psql_copy_rows_per_s: stat(ref),
    write_ratio: stat(ours.map((o, i) => o / ref[i])),
    e2e_rows: e2eRows,
    page_rows: PAGE,
    ...whole,
    split,
  };
}
