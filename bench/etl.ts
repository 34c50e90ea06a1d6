/**
 * P8: the ETL family (seed 002). Records/s of a whole EtlWorkflow run over 100,000 users from the
 * users API (extract → transform → save to SQLite + the three files to SFTP, in a real
 * `bq-sftp worker` process), beside the API's own serving rate to a client that only reads the
 * same pages (the floor), measured in the same run against the same API process.
 * Target ≥ 0.5× of the floor; peak worker RSS < 200 MB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { configSchema } from '../src/config';
import { createStorage } from '../src/gcs/client';
import { clientFor } from '../src/cli/config-option';
import { etlDemoConfigInput } from '../src/etl/demo-config';
import { startEtlRun } from '../src/etl/starter';
import { runStamp } from '../src/etl/naming';
import type { EtlResult } from '../src/etl/workflow';
import { repoRoot } from '../src/stack/layout';
import type { StackInfo } from '../src/stack/stack-info';
import { WorkerProcess } from '../test/faults/helpers/worker-process';
import { leanWorkerEnv, LEAN_SETTINGS } from './lean-env';
import { CpuSampler, cpuLine, cpuSeconds, range, stat, workerCode, type Stat } from './stats';

const WARM_UP_RECORDS = 5000;

export interface P8Result {
  records: number;
  page_size: number;
  ours_records_per_s: Stat;
  floor_records_per_s: Stat;
  ratio: Stat;
  peak_rss_mb: Stat;
  /** CPU seconds per 100,000 records: our worker process, and the users API while we read vs while the reader reads */
  cpu_s_per_100k: { worker: Stat; api_ours: Stat; api_floor: Stat };
  steps_s: { extract: Stat; transform: Stat; save: Stat };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function startApi(total: number, logPath: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const log = fs.openSync(logPath, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/etl/users-api-server.ts'), '--port', String(port), '--total', String(total)], {
    cwd: repoRoot,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, proc };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`the users API did not start (log: ${logPath})`);
}

/** The floor: read every page once, in order, as the extract does, and parse it. */
async function readAll(url: string, total: number, pageSize: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for (let skip = 0; skip < total; skip += pageSize) {
    const body = (await (await fetch(`${url}/users?limit=${pageSize}&skip=${skip}`)).json()) as { users: unknown[] };
    n += body.users.length;
  }
  if (n !== total) throw new Error(`the reader got ${n} records, expected ${total}`);
  return (performance.now() - t0) / 1000;
}

/**
 * The worker runs without the lean relaunch (BQSFTP_WORKER_LEAN=0; `--lean` sets the lean memory
 * settings directly), so its PID is the worker's; if a launcher is there anyway, its biggest child.
 */
function workerProcessPid(pid: number): number {
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const rss = (p: number) => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        return 0;
      }
    };
    return kids.length ? kids.reduce((a, b) => (rss(b) > rss(a) ? b : a)) : pid;
  } catch {
    return pid;
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

type Variant = 'whole' | 'split';

interface RunFigures {
  records_per_s: number;
  seconds: number;
  rss_mb: number;
  idle_rss_mb: number;
  cpu_worker: number;
  cpu_api: number;
  steps: Partial<Record<'extract' | 'transform' | 'save', number>>;
  /** the highest RSS sampled (every 100 ms) while each step ran */
  rss_steps: Partial<Record<'extract' | 'transform' | 'save', number>>;
  /** CPU seconds by worker thread name, and by the other processes, for the run */
  cpu_threads: string;
  cpu_others: string;
  /** CPU seconds by label within each step's window (sampled every 100 ms) */
  cpu_steps: string;
}

export interface P8SplitResult {
  ours_records_per_s: Stat;
  ratio: Stat;
  peak_rss_mb: Stat;
  idle_rss_mb: Stat;
  cpu_s_per_100k: Stat;
}

export async function p8(opts: {
  info: StackInfo;
  benchDir: string;
  rounds: number;
  log: (s: string) => void;
  records?: number;
  pageSize?: number;
  workerEnv?: Record<string, string>;
  /** also measure the lean split set-up (default: yes; `--no-split` on the command line: no) */
  split?: boolean;
}): Promise<P8Result & { idle_rss_mb: Stat; split?: P8SplitResult }> {
  const { info, benchDir, rounds, log } = opts;
  const total = opts.records ?? 100_000;
  const pageSize = opts.pageSize ?? 100;
  const withSplit = opts.split ?? !process.argv.includes('--no-split');
  log(`P8: EtlWorkflow over ${total.toLocaleString('en')} users (page size ${pageSize}) vs reading the same pages only (${rounds} rounds; the whole worker${withSplit ? `, then the lean split set-up: an activities-only worker with ${LEAN_SETTINGS} beside a workflows-only one` : ''}; worker code: ${workerCode()})`);
  const dir = path.join(benchDir, 'p8');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const api = await startApi(total, path.join(dir, 'users-api.log'));
  const input = etlDemoConfigInput(info, { taskQueue: 'bq-sftp-bench-p8', source: { url: `${api.url}/users`, page_size: pageSize }, pipeline: { remote_base: '/upload/bench-p8' } });
  (input.etl as Record<string, unknown>).sqlite_path = path.join(dir, 'etl.db');
  // the same pipeline over its first 5,000 records: each worker's warm-up run, as the reader warms up
  // on 5,000 before it is timed (a worker runs many runs; the first one's code is still cold);
  // BQSFTP_P8_NO_WARM_UP=1 measures a cold worker's first run instead
  const pipelines = (input.etl as { pipelines: Record<string, Record<string, unknown>> }).pipelines;
  pipelines.warm_up = { ...pipelines.demo_users, source: { ...(pipelines.demo_users.source as object), max_records: WARM_UP_RECORDS }, remote_base: '/upload/bench-p8-warm-up' };
  const config = configSchema.parse(input);
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(input), { mode: 0o600 });
  const client = await clientFor(config);
  const per100k = (sec: number) => (sec * 100_000) / total;
  // BQSFTP_P8_CPU_PROF=<dir>: the measured worker writes a V8 CPU profile there (<pid>.cpuprofile;
  // NODE_OPTIONS cannot carry --cpu-prof, so a preload starts the profiler)
  const profDir = process.env.BQSFTP_P8_CPU_PROF ? path.resolve(process.env.BQSFTP_P8_CPU_PROF) : undefined;
  const prof = profDir ? ` --require ${path.join(repoRoot, 'bench/cpu-profile-preload.cjs')}` : '';
  const lean = leanWorkerEnv();
  let runNo = 0;
  // each run's 2 × 33 MB staged in GCS and published to SFTP are deleted once it is measured (they
  // filled the stack's disk by ~130 MB per run)
  const staging = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId }).bucket(config.gcs.bucket);
  const removeRunFiles = async (r: EtlResult) => {
    await Promise.all(Object.values(r.staged.bucket_objects).map((o) => staging.file(o).delete({ ignoreNotFound: true })));
    for (const f of r.files) fs.rmSync(path.join(info.sftp.keyUser.localRoot, f.remote_path), { force: true });
  };

  const runOnce = async (variant: Variant): Promise<RunFigures> => {
    // BQSFTP_P8_WORKER_NODE_OPTIONS: node options for the measured worker alone (to try V8 settings)
    const tried = process.env.BQSFTP_P8_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BQSFTP_P8_WORKER_NODE_OPTIONS } : {};
    const base = variant === 'split' ? { ...opts.workerEnv, ...lean, ...tried } : { ...opts.workerEnv, ...tried };
    const env = { BQSFTP_LOG_LEVEL: 'WARN', BQSFTP_WORKER_LEAN: '0', ...base, ...(profDir ? { NODE_OPTIONS: `${base.NODE_OPTIONS ?? ''}${prof}`.trim(), BQSFTP_CPU_PROF_DIR: profDir } : {}) };
    // a log per worker: WorkerProcess.start waits for "polling task queue" in it, which an earlier
    // round's log already holds (idle RSS and CPU were then taken before the worker was up)
    const n = runNo;
    const worker = await WorkerProcess.start({ configPath, logPath: path.join(dir, `worker-${variant}-${n}.log`), env, args: variant === 'split' ? ['--only', 'activities'] : [] });
    const workflows = variant === 'split' ? await WorkerProcess.start({ configPath, logPath: path.join(dir, `worker-workflows-${n}.log`), env: { BQSFTP_LOG_LEVEL: 'WARN', BQSFTP_WORKER_LEAN: '0', ...lean }, args: ['--only', 'workflows'] }) : undefined;
    try {
      // BQSFTP_WORKER_LEAN=0: no launcher, the spawned process is the worker (a child it has at
      // this moment, e.g. the workflow bundler, must not be taken for it)
      const wpid = env.BQSFTP_WORKER_LEAN === '0' ? worker.pid : workerProcessPid(worker.pid);
      const idle = rssMb(wpid);
      const warm = process.env.BQSFTP_P8_NO_WARM_UP === '1' ? undefined : await startEtlRun(client, config, { pipeline: 'warm_up', stamp: runStamp(new Date(Date.now() + runNo++ * 1000)) });
      if (warm) {
        const w = await warm.result();
        await removeRunFiles(w);
        if (w.counts.raw !== WARM_UP_RECORDS) throw new Error('the warm-up run did not read its records');
      }
      const workerCpu0 = cpuSeconds(wpid);
      const apiCpu0 = cpuSeconds(api.proc.pid!);
      const stamp = runStamp(new Date(Date.now() + runNo++ * 1000));
      // RSS every 100 ms, to say which step the peak is in
      const samples: [number, number][] = [];
      // CPU by thread of the worker, and by the servers it talks to (threads and processes that end
      // during the run keep their last sample)
      const cpu = new CpuSampler(wpid, { 'users API': /users-api-server/, 'fake-gcs': /fake-gcs-server/, temporal: /temporal.* server start-dev/, sshd: /sshd: /, 'workflows worker': /--only workflows/ });
      cpu.start();
      const sampler = setInterval(() => {
        try {
          samples.push([Date.now() / 1000, rssMb(wpid)]);
          cpu.tick();
        } catch {
          /* gone */
        }
      }, 100);
      const handle = await startEtlRun(client, config, { pipeline: 'demo_users', stamp });
      const r = await handle.result().finally(() => clearInterval(sampler));
      await removeRunFiles(r);
      const cpuWorker = per100k(cpuSeconds(wpid) - workerCpu0);
      const byThread = cpu.totals();
      const cpuApi = per100k(cpuSeconds(api.proc.pid!) - apiCpu0);
      if (r.counts.raw !== total) throw new Error(`the run read ${r.counts.raw} records, expected ${total}`);
      const events = (await handle.fetchHistory()).events ?? [];
      const t = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
      const seconds = t(events.at(-1)!) - t(events[0]);
      // each activity: scheduled → completed (the one-pass extract+transform counts as extract)
      const steps: RunFigures['steps'] = {};
      const windows: Partial<Record<'extract' | 'transform' | 'save', [number, number]>> = {};
      const scheduled = new Map<string, number>();
      for (const e of events) {
        const sch = e.activityTaskScheduledEventAttributes;
        if (sch) scheduled.set(String(e.eventId), t(e));
        const c = e.activityTaskCompletedEventAttributes;
        if (c) {
          const start = scheduled.get(String(c.scheduledEventId));
          const type = events.find((x) => String(x.eventId) === String(c.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name;
          const key = type === 'etlExtract' || type === 'etlExtractTransform' ? 'extract' : type === 'etlTransform' ? 'transform' : type === 'etlSave' ? 'save' : undefined;
          if (key && start !== undefined) {
            steps[key] = t(e) - start;
            windows[key] = [start, t(e)];
          }
        }
      }
      const peakIn = (w?: [number, number]) => (w ? Math.max(0, ...samples.filter(([at]) => at >= w[0] && at <= w[1]).map(([, mb]) => mb)) : undefined);
      const rssSteps = Object.fromEntries(Object.entries(windows).map(([k, w]) => [k, peakIn(w)]));
      const cpuSteps = Object.entries(windows).map(([k, w]) => `${k}: ${cpuLine(cpu.between(w[0], w[1]))}`).join('; ');
      return { records_per_s: total / seconds, seconds, rss_mb: vmHwmMb(wpid), idle_rss_mb: idle, cpu_worker: cpuWorker, cpu_api: cpuApi, steps, rss_steps: rssSteps, cpu_threads: cpuLine(byThread.threads), cpu_others: cpuLine(byThread.others), cpu_steps: cpuSteps };
    } finally {
      await worker.stop();
      await workflows?.stop();
    }
  };

  const floor: number[] = [];
  const apiFloor: number[] = [];
  const runs: Record<Variant, RunFigures[]> = { whole: [], split: [] };
  try {
    await readAll(api.url, Math.min(total, WARM_UP_RECORDS), pageSize); // warm-up
    for (let i = 0; i < rounds; i++) {
      const apiCpu0 = cpuSeconds(api.proc.pid!);
      const floorS = await readAll(api.url, total, pageSize);
      apiFloor.push(per100k(cpuSeconds(api.proc.pid!) - apiCpu0));
      floor.push(total / floorS);
      for (const variant of withSplit ? (['whole', 'split'] as const) : (['whole'] as const)) {
        const f = await runOnce(variant);
        runs[variant].push(f);
        const st = f.steps;
        log(`  round ${i + 1}, ${variant === 'whole' ? 'whole worker' : 'lean split (activities-only worker)'}: ours ${Math.round(f.records_per_s)} records/s (${f.seconds.toFixed(2)} s: ` +
          `${st.transform === undefined ? `extract+transform ${st.extract?.toFixed(2)}` : `extract ${st.extract?.toFixed(2)}, transform ${st.transform.toFixed(2)}`}, save ${st.save?.toFixed(2)}), ` +
          `floor ${Math.round(total / floorS)} records/s (${floorS.toFixed(2)} s) → ${(f.records_per_s / (total / floorS)).toFixed(2)}×, peak RSS ${f.rss_mb} MB (${f.idle_rss_mb} MB idle; sampled in ${Object.entries(f.rss_steps).map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
          `CPU per 100k: worker ${f.cpu_worker.toFixed(1)} s, users API ${f.cpu_api.toFixed(1)} s (reader alone: ${apiFloor.at(-1)!.toFixed(1)} s)`);
        log(`    CPU s by worker thread: ${f.cpu_threads}; other processes: ${f.cpu_others}`);
        log(`    CPU s by step: ${f.cpu_steps}`);
      }
    }
  } finally {
    await client.connection.close();
    api.proc.kill('SIGTERM');
  }
  const w = runs.whole;
  const stepStat = (k: 'extract' | 'transform' | 'save') => stat(w.map((f) => f.steps[k]).filter((x): x is number => x !== undefined));
  const result: P8Result & { idle_rss_mb: Stat; split?: P8SplitResult } = {
    records: total,
    page_size: pageSize,
    ours_records_per_s: stat(w.map((f) => f.records_per_s)),
    floor_records_per_s: stat(floor),
    ratio: stat(w.map((f, i) => f.records_per_s / floor[i])),
    peak_rss_mb: stat(w.map((f) => f.rss_mb)),
    idle_rss_mb: stat(w.map((f) => f.idle_rss_mb)),
    cpu_s_per_100k: { worker: stat(w.map((f) => f.cpu_worker)), api_ours: stat(w.map((f) => f.cpu_api)), api_floor: stat(apiFloor) },
    steps_s: { extract: stepStat('extract'), transform: stepStat('transform'), save: stepStat('save') },
  };
  if (withSplit) {
    const sp = runs.split;
    result.split = {
      ours_records_per_s: stat(sp.map((f) => f.records_per_s)),
      ratio: stat(sp.map((f, i) => f.records_per_s / floor[i])),
      peak_rss_mb: stat(sp.map((f) => f.rss_mb)),
      idle_rss_mb: stat(sp.map((f) => f.idle_rss_mb)),
      cpu_s_per_100k: stat(sp.map((f) => f.cpu_worker)),
    };
    log(`  P8 lean split set-up: ours ${range(result.split.ours_records_per_s, 0)} records/s → ${range(result.split.ratio)}× of the floor, activities-only worker peak RSS ${range(result.split.peak_rss_mb, 0)} MB (${range(result.split.idle_rss_mb, 0)} MB idle), CPU ${range(result.split.cpu_s_per_100k, 1)} s per 100k`);
  }
  log(`  P8 whole worker: peak RSS ${range(result.peak_rss_mb, 0)} MB (${range(result.idle_rss_mb, 0)} MB idle), CPU ${range(result.cpu_s_per_100k.worker, 1)} s per 100k; users API ${range(result.cpu_s_per_100k.api_ours, 1)} s (reader alone ${range(result.cpu_s_per_100k.api_floor, 1)} s)`);
  return result;
}
