import { spawnSync } from 'node:child_process';
import fs, { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], samples };
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
export const range = (s: Stat, digits = 2) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

/** user + system CPU seconds of a process so far (all its threads) */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of a /proc/…/stat line, in seconds (clock ticks, 100/s) */
function statCpuSeconds(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds by thread of one process and by other processes (matched by command line), sampled
 * while something runs: a thread or process that ends between samples keeps its last reading.
 * Threads that started after `start()` are reported as `new <name>`.
 */
export class CpuSampler {
  private readonly threads = new Map<string, { name: string; first: number; last: number }>();
  private readonly procs = new Map<string, { label: string; first: number; last: number }>();
  /** command lines read once per process: its label, or null when it matches none */
  private readonly labels = new Map<string, string | null>();
  private started = false;
  constructor(
    private readonly pid: number,
    private readonly others: Record<string, RegExp> = {},
  ) {}

  sample(): void {
    try {
      for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
        try {
          const stat = readFileSync(`/proc/${this.pid}/task/${tid}/stat`, 'utf8');
          const v = statCpuSeconds(stat);
          const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          // BQSFTP_BENCH_TIDS=1: every thread on its own (by id)
          const name = Number(tid) === this.pid ? 'main' : process.env.BQSFTP_BENCH_TIDS === '1' ? `${comm}#${tid}` : comm;
          const t = this.threads.get(tid);
          if (t) t.last = v;
          else this.threads.set(tid, { name: this.started ? `new ${name}` : name, first: this.started ? 0 : v, last: v });
        } catch {
          /* ended */
        }
      }
    } catch {
      /* process gone */
    }
    if (Object.keys(this.others).length === 0) return;
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p) || Number(p) === this.pid) continue;
      try {
        let label = this.labels.get(p);
        if (label === undefined) {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
          label = Object.entries(this.others).find(([, re]) => re.test(cmd))?.[0] ?? null;
          this.labels.set(p, label);
        }
        if (!label) continue;
        const v = statCpuSeconds(readFileSync(`/proc/${p}/stat`, 'utf8'));
        const e = this.procs.get(p);
        if (e) e.last = v;
        else this.procs.set(p, { label, first: this.started ? 0 : v, last: v });
      } catch {
        /* ended */
      }
    }
  }

  start(): void {
    this.sample();
    this.started = true;
  }

  /** [seconds since the epoch, CPU so far by label] after each sample: for CPU per time window */
  readonly timeline: [number, Record<string, number>][] = [];

  /** samples and records the totals (what a sampling interval calls) */
  tick(): void {
    this.sample();
    const { threads, others } = this.sums();
    this.timeline.push([Date.now() / 1000, { ...threads, ...others }]);
  }

  /** CPU seconds by label between two moments (from the timeline) */
  between(t0: number, t1: number): Record<string, number> {
    const at = (t: number) => {
      let found: Record<string, number> = {};
      for (const [x, m] of this.timeline) if (x <= t) found = m;
      return found;
    };
    const a = at(t0);
    const b = at(t1);
    return Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));
  }

  /** CPU seconds since start, by thread name (summed over threads of one name) and by process label */
  totals(): { threads: Record<string, number>; others: Record<string, number> } {
    this.sample();
    return this.sums();
  }

  private sums(): { threads: Record<string, number>; others: Record<string, number> } {
    const threads: Record<string, number> = {};
    for (const t of this.threads.values()) threads[t.name] = (threads[t.name] ?? 0) + t.last - t.first;
    const others: Record<string, number> = {};
    for (const p of this.procs.values()) others[p.label] = (others[p.label] ?? 0) + p.last - p.first;
    return { threads, others };
  }
}

export const cpuLine = (m: Record<string, number>) =>
  Object.entries(m)
    .filter(([, v]) => v >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');

const repo = path.resolve(__dirname, '..');

/** the newest modification time of any file under `dir` (ms; 0 when it does not exist) */
function newest(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)));
}

/** dist/ was built by `npm run build` after the last change under src/ (what `bin/bq-sftp.js` then runs) */
export function distIsFresh(root = repo): boolean {
  const stamp = path.join(root, 'dist', '.build-stamp');
  return fs.existsSync(stamp) && newest(path.join(root, 'src')) <= fs.statSync(stamp).mtimeMs;
}

/**
 * Builds dist/ when it is missing or older than src/, so the workers the benches start run the
 * compiled code a deployment runs; `BQSFTP_RUN=tsx` measures the TypeScript through tsx instead.
 */
export function ensureBuilt(log: (s: string) => void, root = repo): void {
  if (process.env.BQSFTP_RUN === 'tsx' || distIsFresh(root)) return;
  log('dist/ is missing or older than src/: npm run build (the benches measure the compiled workers; BQSFTP_RUN=tsx for the TypeScript)');
  buildDist(root);
}

/** `npm run build` in `root` */
export function buildDist(root = repo): void {
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}${b.stderr}`);
}

/** What `bin/bq-sftp.js` runs: dist/ when it is built and newer than src/, else the TypeScript through tsx (more memory). */
export function workerCode(): string {
  if (process.env.BQSFTP_RUN === 'dist' || (process.env.BQSFTP_RUN !== 'tsx' && distIsFresh())) return 'compiled dist/';
  return 'TypeScript through tsx: dist/ missing or older than src/, or BQSFTP_RUN=tsx';
}
