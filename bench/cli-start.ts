/**
 * P0: how long `bq-sftp --help` takes to print, and the process's peak RSS, running the compiled
 * JavaScript in dist/ (what an installed package and the Docker image run) vs the TypeScript
 * through tsx (a source checkout without a build). Builds dist/ first when it is stale. Beside
 * the wall time, the CPU time (user + system) of each start: on a loaded machine it varies less.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildDist, distIsFresh, stat, type Stat } from './stats';

export interface CliStartResult {
  compiled_s: Stat;
  tsx_s: Stat;
  compiled_rss_mb: Stat;
  tsx_rss_mb: Stat;
  compiled_cpu_s: Stat;
  tsx_cpu_s: Stat;
  /** compiled / tsx start time (target ≤ 0.5) */
  ratio: number;
  /** compiled / tsx CPU time */
  cpu_ratio: number;
}

interface Sample {
  seconds: number;
  rssMb: number;
  cpuS: number;
}

/** wall seconds, peak RSS (MB) and CPU seconds (the last two by /usr/bin/time when present) of one `bq-sftp --help` */
function once(root: string, mode: 'dist' | 'tsx'): Sample {
  const bin = path.join(root, 'bin/bq-sftp.js');
  const timed = fs.existsSync('/usr/bin/time');
  const [cmd, args] = timed ? ['/usr/bin/time', ['-f', '%M %U %S', process.execPath, bin, '--help']] : [process.execPath, [bin, '--help']];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, BQSFTP_RUN: mode } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bq-sftp --help (${mode}) failed: ${r.stderr}`);
  const [kb, user, sys] = timed ? r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) : [NaN, NaN, NaN];
  return { seconds, rssMb: kb / 1024, cpuS: user + sys };
}

export function cliStart(opts: { root: string; rounds: number; log: (s: string) => void }): CliStartResult {
  const { root, rounds, log } = opts;
  log(`P0: CLI start, \`bq-sftp --help\`: compiled dist/ vs TypeScript through tsx (${rounds} rounds, alternating)`);
  // P0 compares both, so it builds even with BQSFTP_RUN=tsx
  if (!distIsFresh(root)) {
    log('  dist/ is missing or stale: npm run build');
    buildDist(root);
  }
  once(root, 'dist'); // warm the file cache for both
  once(root, 'tsx');
  const d: Sample[] = [];
  const t: Sample[] = [];
  for (let i = 0; i < rounds; i++) {
    d.push(once(root, 'dist'));
    t.push(once(root, 'tsx'));
    const [a, b] = [d.at(-1)!, t.at(-1)!];
    log(`  round ${i + 1}: compiled ${a.seconds.toFixed(2)} s (CPU ${a.cpuS.toFixed(2)} s) ${Math.round(a.rssMb)} MB, tsx ${b.seconds.toFixed(2)} s (CPU ${b.cpuS.toFixed(2)} s) ${Math.round(b.rssMb)} MB`);
  }
  const compiled = stat(d.map((x) => x.seconds));
  const viaTsx = stat(t.map((x) => x.seconds));
  const compiledCpu = stat(d.map((x) => x.cpuS));
  const tsxCpu = stat(t.map((x) => x.cpuS));
  const result = {
    compiled_s: compiled,
    tsx_s: viaTsx,
    compiled_rss_mb: stat(d.map((x) => x.rssMb)),
    tsx_rss_mb: stat(t.map((x) => x.rssMb)),
    compiled_cpu_s: compiledCpu,
    tsx_cpu_s: tsxCpu,
    ratio: compiled.median / viaTsx.median,
    cpu_ratio: compiledCpu.median / tsxCpu.median,
  };
  log(`  median: compiled ${compiled.median.toFixed(2)} s vs tsx ${viaTsx.median.toFixed(2)} s → ${result.ratio.toFixed(2)}×; CPU ${compiledCpu.median.toFixed(2)} vs ${tsxCpu.median.toFixed(2)} s → ${result.cpu_ratio.toFixed(2)}×`);
  return result;
}
