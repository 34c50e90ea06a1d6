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
import { clientFor } from '../src/cli/config-option';
import { etlDemoConfigInput } from '../src/etl/demo-config';
import { startEtlRun } from '../src/etl/starter';
import { runStamp } from '../src/etl/naming';
import { repoRoot } from '../src/stack/layout';
import type { StackInfo } from '../src/stack/stack-info';
import { WorkerProcess } from '../test/faults/helpers/worker-process';
import { stat, type Stat } from './stats';

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

/** user + system CPU seconds of a process so far */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100/s)
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

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

export async function p8(opts: { info: StackInfo; benchDir: string; rounds: number; log: (s: string) => void; records?: number; pageSize?: number; workerEnv?: Record<string, string> }): Promise<P8Result> {
  const { info, benchDir, rounds, log } = opts;
  const total = opts.records ?? 100_000;
  const pageSize = opts.pageSize ?? 100;
  log(`P8: EtlWorkflow over ${total.toLocaleString('en')} users (page size ${pageSize}) vs reading the same pages only (${rounds} rounds)`);
  const dir = path.join(benchDir, 'p8');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const api = await startApi(total, path.join(dir, 'users-api.log'));
  const input = etlDemoConfigInput(info, { taskQueue: 'bq-sftp-bench-p8', source: { url: `${api.url}/users`, page_size: pageSize }, pipeline: { remote_base: '/upload/bench-p8' } });
  (input.etl as Record<string, unknown>).sqlite_path = path.join(dir, 'etl.db');
  const config = configSchema.parse(input);
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(input), { mode: 0o600 });
  const client = await clientFor(config);
  const ours: number[] = [];
  const floor: number[] = [];
  const rss: number[] = [];
  const cpu = { worker: [] as number[], api_ours: [] as number[], api_floor: [] as number[] };
  const per100k = (sec: number) => (sec * 100_000) / total;
  const steps = { extract: [] as number[], transform: [] as number[], save: [] as number[] };
  try {
    await readAll(api.url, Math.min(total, 5000), pageSize); // warm-up
    for (let i = 0; i < rounds; i++) {
      const apiCpu0 = cpuSeconds(api.proc.pid!);
      const floorS = await readAll(api.url, total, pageSize);
      cpu.api_floor.push(per100k(cpuSeconds(api.proc.pid!) - apiCpu0));
      floor.push(total / floorS);
      const worker = await WorkerProcess.start({ configPath, logPath: path.join(dir, 'worker.log'), env: { BQSFTP_LOG_LEVEL: 'WARN', BQSFTP_WORKER_LEAN: '0', ...opts.workerEnv } });
      try {
        const wpid = workerProcessPid(worker.pid);
        const workerCpu0 = cpuSeconds(wpid);
        const apiCpu1 = cpuSeconds(api.proc.pid!);
        const stamp = runStamp(new Date(Date.now() + i * 1000));
        const handle = await startEtlRun(client, config, { pipeline: 'demo_users', stamp });
        const r = await handle.result();
        cpu.worker.push(per100k(cpuSeconds(wpid) - workerCpu0));
        cpu.api_ours.push(per100k(cpuSeconds(api.proc.pid!) - apiCpu1));
        if (r.counts.raw !== total) throw new Error(`the run read ${r.counts.raw} records, expected ${total}`);
        const events = (await handle.fetchHistory()).events ?? [];
        const t = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
        const seconds = t(events.at(-1)!) - t(events[0]);
        ours.push(total / seconds);
        // each activity: scheduled → completed
        const scheduled = new Map<string, number>();
        for (const e of events) {
          const s = e.activityTaskScheduledEventAttributes;
          if (s) scheduled.set(String(e.eventId), t(e));
          const c = e.activityTaskCompletedEventAttributes;
          if (c) {
            const start = scheduled.get(String(c.scheduledEventId));
            const type = events.find((x) => String(x.eventId) === String(c.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name;
            const key = type === 'etlExtract' ? 'extract' : type === 'etlTransform' ? 'transform' : type === 'etlSave' ? 'save' : undefined;
            if (key && start !== undefined) steps[key].push(t(e) - start);
          }
        }
        rss.push(vmHwmMb(wpid));
        log(`  round ${i + 1}: ours ${Math.round(total / seconds)} records/s (${seconds.toFixed(2)} s: extract ${steps.extract.at(-1)?.toFixed(2)}, transform ${steps.transform.at(-1)?.toFixed(2)}, save ${steps.save.at(-1)?.toFixed(2)}), ` +
          `floor ${Math.round(total / floorS)} records/s (${floorS.toFixed(2)} s), worker peak RSS ${rss.at(-1)} MB; ` +
            `CPU: worker ${cpu.worker.at(-1)!.toFixed(1)} s, users API ${cpu.api_ours.at(-1)!.toFixed(1)} s (reader alone: ${cpu.api_floor.at(-1)!.toFixed(1)} s)`);
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await client.connection.close();
    api.proc.kill('SIGTERM');
  }
  return {
    records: total,
    page_size: pageSize,
    ours_records_per_s: stat(ours),
    floor_records_per_s: stat(floor),
    ratio: stat(ours.map((o, i) => o / floor[i])),
    peak_rss_mb: stat(rss),
    cpu_s_per_100k: { worker: stat(cpu.worker), api_ours: stat(cpu.api_ours), api_floor: stat(cpu.api_floor) },
    steps_s: { extract: stat(steps.extract), transform: stat(steps.transform), save: stat(steps.save) },
  };
}
