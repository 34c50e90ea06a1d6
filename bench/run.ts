/**
 * npm run bench [-- --size-mib 1024 --rounds 3 --only P0,P1,P1M,P2,P2W,P3,P4 --rtt-ms 20 --lean --split --cipher aes128-gcm@openssh.com --peer rclone --json]
 * Measures our transfer against OpenSSH's own sftp in the same run, on the local stack.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { requireStack, stackInfoOrExit } from '../src/stack/stack-check';
import { repoRoot } from '../src/stack/layout';
import { createStorage } from '../src/gcs/client';
import { loadConfig } from '../src/config';
import { createWorker } from '../src/worker';
import { clientFor } from '../src/cli/config-option';
import { startExport } from '../src/starter';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkerProcess } from '../test/faults/helpers/worker-process';
import { sftpBatch, stackTag, setReferenceCipher } from './reference';
import { ensureRclone, rcloneCopy, RCLONE_SETTINGS, RCLONE_VERSION } from './peers';
import { p6 } from './inbox';
import { p9 } from './pgp';
import { p8 } from './etl';
import { p7 } from './backup';
import { p5, type P5Result } from './ingest';
import { cliStart } from './cli-start';
import { leanWorkerEnv, LEAN_SETTINGS } from './lean-env';
import { ensureBuilt, fmt, range, stat, type Stat } from './stats';

process.env.METADATA_SERVER_DETECTION = 'none';
const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const JSON_OUT = args.includes('--json');
const ONLY = (() => {
  const i = args.indexOf('--only');
  return i >= 0 ? args[i + 1].split(',') : ['P0', 'P1', 'P2', 'P2W', 'P3', 'P4'];
})();
const SIZE_MIB = opt('size-mib', 1024);
/** --cipher: one cipher for every SSH client of the bench (ours, OpenSSH's sftp, rclone): like for like (issue 20) */
const CIPHER = (() => {
  const i = args.indexOf('--cipher');
  return i >= 0 ? args[i + 1] : 'aes128-gcm@openssh.com';
})();
/** --peer rclone: rclone's time on the same objects (P1, P2), built once into .tools/ */
const PEER_RCLONE = args.includes('--peer') && args[args.indexOf('--peer') + 1] === 'rclone';
const MIXED_SMALL = opt('mixed-small-files', 3000);
const ROUNDS = opt('rounds', 3);
const SMALL_FILES = opt('small-files', 1000);
const VERIFY_FILES = opt('verify-files', 10_000);
const WAN_FILES = opt('wan-files', 200);
const RTT_MS = opt('rtt-ms', 20);
/** --lean: the worker runs with the Dockerfile's memory settings (one malloc arena, 1 MiB semi-spaces, the lean heap growth) */
/** --split: transfers run in a `worker --only activities` process (measured), workflows in another */
const SPLIT = args.includes('--split');
const LEAN_ENV: Record<string, string> = args.includes('--lean') ? leanWorkerEnv() : {};

const info = stackInfoOrExit('bench');
const benchDir = path.join(repoRoot, '.bench');
fs.mkdirSync(benchDir, { recursive: true });
const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
const bucket = storage.bucket(info.gcs.bucket);
const DATE = '2025-01-08';
const jail = info.sftp.keyUser.localRoot;
const log = (s: string) => {
  if (!JSON_OUT) process.stdout.write(`${s}\n`);
};

function benchConfig(sftpPort = info.sftp.port, file = 'config.json'): string {
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8'));
  const cfg = {
    ...demo,
    temporal: { ...demo.temporal, task_queue: 'bq-sftp-bench' },
    sftp: {
      // the key user, like the reference; BENCH_AUTH=password uses the password user (no bcrypt KDF at connect)
      ...(process.env.BENCH_AUTH === 'password'
        ? { username: info.sftp.passwordUser.username, password: info.sftp.passwordUser.password }
        : { username: info.sftp.keyUser.username, private_key_path: info.sftp.keyUser.privateKeyPath, passphrase: info.sftp.keyUser.passphrase }),
      host: info.sftp.host, port: sftpPort, directory: '/upload/bench', host_key: info.sftp.hostKeyFingerprint, max_connections: 8, ciphers: [CIPHER],
    },
    transfer: { concurrency: 8 },
    exports: {
      bench_p1: { query: 'SELECT 1', file_prefix: 'P1' },
      bench_p2: { query: 'SELECT 1', file_prefix: 'P2' },
      bench_p1m: { query: 'SELECT 1', file_prefix: 'P1M' },
      bench_p2w: { query: 'SELECT 1', file_prefix: 'P2' },
      bench_p4: { query: 'SELECT 1', file_prefix: 'P4', destination: '/upload/bench-p4' },
      bench_p3: {
        query: "SELECT x AS id, CONCAT('row-', CAST(x AS STRING), '-', REPEAT('z', 80)) AS payload FROM UNNEST(GENERATE_ARRAY(1, 100000)) AS x",
        file_prefix: 'P3', destination: '/upload/bench-p3',
      },
    },
  };
  const p = path.join(benchDir, `${stackTag(info)}-${file}`); // apart per stack: helpers bench their own stacks in this checkout
  fs.writeFileSync(p, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  return p;
}

function clearJailDir(remote: string): void {
  const dir = path.join(jail, remote);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const { uid, gid } = fs.statSync(path.join(jail, 'upload'));
  fs.chownSync(dir, uid, gid);
}

function runChild(kind: 'transfer' | 'verify', configPath: string, exportName: string): { seconds: number; cpuSeconds: number; maxRssMb: number; baselineRssMb: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'transfer-child.ts'), kind, configPath, exportName, DATE,
    `gs://${info.gcs.bucket}/${exportName}/20250108/`], { encoding: 'utf8', env: { ...process.env, METADATA_SERVER_DETECTION: 'none' }, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${kind} child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  if (!out.ok) throw new Error(`${kind} child reported a bad result`);
  return out;
}

async function ensureObject(name: string, local: string): Promise<void> {
  const file = bucket.file(name);
  const [exists] = await file.exists();
  if (exists && Number((await file.getMetadata())[0].size) === fs.statSync(local).size) return;
  await bucket.upload(local, { destination: name, resumable: false });
}

function makeRandomFile(file: string, bytes: number): void {
  if (fs.existsSync(file) && fs.statSync(file).size === bytes) return;
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(4 << 20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    crypto.randomFillSync(chunk);
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  }
  fs.closeSync(fd);
}

async function p1(configPath: string) {
  const bytes = SIZE_MIB * 1024 * 1024;
  const local = path.join(benchDir, `p1-${SIZE_MIB}MiB.bin`);
  log(`P1: one ${SIZE_MIB} MiB object GCS→SFTP vs OpenSSH sftp put from local disk (${ROUNDS} rounds${LEAN_ENV.NODE_OPTIONS ? ', lean worker' : ''}${SPLIT ? ', RSS of an activities-only worker' : ''})`);
  if (SIZE_MIB > 2048) {
    // measured: uploading a 4 GiB object got fake-gcs-server OOM-killed at 24 GB RSS on a 24 GiB machine
    throw new Error(`--size-mib ${SIZE_MIB}: the local GCS emulator holds a whole object in memory several times over; ` +
      `above 2048 MiB it runs out of memory (a 4 GiB upload took 24 GB). Use a real bucket for bigger objects.`);
  }
  makeRandomFile(local, bytes);
  await ensureObject(`bench_p1/20250108/P1_20250108-000000000000.bin`, local);
  // a real `bq-sftp worker` process runs TransferWorkflow: its time is the activity's (history
  // timestamps), its peak RSS the process's high-water mark, reset before every round
  const config = loadConfig({ path: configPath });
  const workerEnv = { BQSFTP_LOG_LEVEL: 'WARN', ...LEAN_ENV };
  for (const f of ['p1-worker.log', 'p1-workflows.log']) fs.rmSync(path.join(benchDir, f), { force: true }); // an old log's "polling" line is no proof this worker started
  const worker = await WorkerProcess.start({ configPath, logPath: path.join(benchDir, 'p1-worker.log'), env: workerEnv, args: SPLIT ? ['--only', 'activities'] : [] });
  const workflowHalf = SPLIT ? await WorkerProcess.start({ configPath, logPath: path.join(benchDir, 'p1-workflows.log'), env: workerEnv, args: ['--only', 'workflows'] }) : undefined;
  const client = await clientFor(config);
  const ours: number[] = [];
  const ref: number[] = [];
  const refDefault: number[] = [];
  const rclone: number[] = [];
  const rss: number[] = [];
  const base: number[] = [];
  const launcher: number[] = [];
  const rcloneBin = PEER_RCLONE ? ensureRclone(repoRoot, log) : undefined;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      clearJailDir('/upload/bench');
      ref.push(sftpBatch(info, benchDir, [`put ${local} /upload/bench/ref.bin`]));
      clearJailDir('/upload/bench');
      refDefault.push(sftpBatch(info, benchDir, [`put ${local} /upload/bench/ref.bin`], info.sftp.port, null));
      if (rcloneBin) {
        clearJailDir('/upload/bench');
        rclone.push(rcloneCopy({ bin: rcloneBin, info, benchDir, prefix: 'bench_p1/20250108/', remoteDir: '/upload/bench', cipher: CIPHER, settings: RCLONE_SETTINGS.large }));
      }
      clearJailDir('/upload/bench');
      const wpid = workerProcessPid(worker.pid);
      base.push(procStatusMb(wpid, 'VmRSS'));
      fs.writeFileSync(`/proc/${wpid}/clear_refs`, '5'); // resets VmHWM to the current RSS
      const handle = await client.workflow.start('TransferWorkflow', {
        taskQueue: config.temporal.task_queue,
        workflowId: `bench-p1-${Date.now()}-${i}`,
        args: [{ exportName: 'bench_p1', date: DATE, gcsPath: `gs://${info.gcs.bucket}/bench_p1/20250108/` }],
      });
      await handle.result();
      ours.push(activitySeconds(await handle.fetchHistory(), 'transferFiles'));
      rss.push(procStatusMb(wpid, 'VmHWM'));
      if (wpid !== worker.pid) launcher.push(procStatusMb(worker.pid, 'VmRSS'));
      log(`  round ${i + 1}: openssh ${fmt(ref.at(-1)!)} s (default cipher ${fmt(refDefault.at(-1)!)} s)${rcloneBin ? `, rclone ${fmt(rclone.at(-1)!)} s` : ''}, ours ${fmt(ours.at(-1)!)} s, worker peak RSS ${fmt(rss.at(-1)!, 0)} MB (${fmt(base.at(-1)!, 0)} MB before the transfer)`);
    }
  } finally {
    await client.connection.close();
    await worker.stop();
    await workflowHalf?.stop();
  }
  const o = stat(ours);
  const rf = stat(ref);
  const rc = rclone.length ? stat(rclone) : undefined;
  return {
    size_mib: SIZE_MIB, cipher: CIPHER, lean: Boolean(LEAN_ENV.NODE_OPTIONS), split: SPLIT, ours_s: o, openssh_s: rf, ratio: rf.median / o.median, ours_mib_s: SIZE_MIB / o.median,
    openssh_default_cipher_s: stat(refDefault),
    ...(rc ? { rclone_s: rc, rclone_ratio: rc.median / o.median, rclone_version: RCLONE_VERSION, rclone_settings: RCLONE_SETTINGS.large.join(' ') } : {}),
    peak_rss_mb: stat(rss), baseline_rss_mb: stat(base), ...(launcher.length ? { lean_launcher_rss_mb: stat(launcher) } : {}),
  };
}

/**
 * P1M (issue 20): one large object and MIXED_SMALL small ones in one TransferWorkflow run by a
 * default `bq-sftp worker` (no lean flags from the bench): its time and the worker's peak RSS.
 */
async function p1Mixed(configPath: string) {
  log(`P1M: one ${SIZE_MIB} MiB object + ${MIXED_SMALL} × 64 KiB objects in one run, default worker (${ROUNDS} rounds)`);
  const prefix = 'bench_p1m/20250108/';
  const big = `${prefix}P1M_20250108-000000000000.bin`;
  const [exists] = await bucket.file(big).exists();
  if (!exists || Number((await bucket.file(big).getMetadata())[0].size) !== SIZE_MIB * 1024 * 1024) {
    const p1Object = bucket.file('bench_p1/20250108/P1_20250108-000000000000.bin');
    const [p1Exists] = await p1Object.exists();
    if (p1Exists && Number((await p1Object.getMetadata())[0].size) === SIZE_MIB * 1024 * 1024) await p1Object.copy(bucket.file(big)); // no second upload
    else {
      const local = path.join(benchDir, `p1-${SIZE_MIB}MiB.bin`);
      makeRandomFile(local, SIZE_MIB * 1024 * 1024);
      await bucket.upload(local, { destination: big, resumable: false });
    }
  }
  const [existing] = await bucket.getFiles({ prefix });
  const have = new Set(existing.map((f) => f.name));
  const small = Array.from({ length: MIXED_SMALL }, (_, i) => `${prefix}P1M_20250108-s${String(i).padStart(11, '0')}.bin`).filter((n) => !have.has(n));
  for (let i = 0; i < small.length; i += 32) await Promise.all(small.slice(i, i + 32).map((n) => bucket.file(n).save(crypto.randomBytes(64 * 1024), { resumable: false })));
  const config = loadConfig({ path: configPath });
  fs.rmSync(path.join(benchDir, 'p1m-worker.log'), { force: true });
  const worker = await WorkerProcess.start({ configPath, logPath: path.join(benchDir, 'p1m-worker.log'), env: { BQSFTP_LOG_LEVEL: 'WARN', ...LEAN_ENV } });
  const client = await clientFor(config);
  const ours: number[] = [];
  const rss: number[] = [];
  const base: number[] = [];
  const after: number[] = [];
  const launcher: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      clearJailDir('/upload/bench');
      const wpid = workerProcessPid(worker.pid);
      base.push(procStatusMb(wpid, 'VmRSS'));
      fs.writeFileSync(`/proc/${wpid}/clear_refs`, '5');
      const handle = await client.workflow.start('TransferWorkflow', {
        taskQueue: config.temporal.task_queue,
        workflowId: `bench-p1m-${Date.now()}-${i}`,
        args: [{ exportName: 'bench_p1m', date: DATE, gcsPath: `gs://${info.gcs.bucket}/${prefix}` }],
      });
      await handle.result();
      ours.push(activitySeconds(await handle.fetchHistory(), 'transferFiles'));
      rss.push(procStatusMb(wpid, 'VmHWM'));
      after.push(procStatusMb(wpid, 'VmRSS'));
      if (wpid !== worker.pid) launcher.push(procStatusMb(worker.pid, 'VmRSS'));
      log(`  round ${i + 1}: ${fmt(ours.at(-1)!)} s, worker peak RSS ${fmt(rss.at(-1)!, 0)} MB (${fmt(base.at(-1)!, 0)} MB before, ${fmt(after.at(-1)!, 0)} MB after)`);
    }
  } finally {
    await client.connection.close();
    await worker.stop();
  }
  return { size_mib: SIZE_MIB, small_files: MIXED_SMALL, cipher: CIPHER, ours_s: stat(ours), peak_rss_mb: stat(rss), baseline_rss_mb: stat(base), after_rss_mb: stat(after), ...(launcher.length ? { lean_launcher_rss_mb: stat(launcher) } : {}) };
}

/**
 * The process doing the work: `bq-sftp worker` starts itself again with the lean memory settings
 * (bin/lean-worker.js) and that child is the worker; its launcher (a bare node, reported apart)
 * only passes signals on.
 */
function workerProcessPid(pid: number): number {
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    // only the relaunched worker, not a helper process of its own (e.g. esbuild's service under tsx)
    const worker = kids.find((k) => fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('bq-sftp.js'));
    return worker ?? pid;
  } catch {
    return pid;
  }
}

/** VmRSS / VmHWM of a process, in MB. */
function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
const eventSeconds = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) => Number(e.eventTime?.seconds) + (e.eventTime?.nanos ?? 0) / 1e9;

/** Each completed activity's type and time from its start to its completion, as the server recorded them. */
function activityDurations(history: History): { type: string; seconds: number }[] {
  const events = history.events ?? [];
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  return events.flatMap((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    const started = done && byId.get(Number(done.startedEventId));
    if (!done || !started) return [];
    const type = byId.get(Number(done.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
    return [{ type, seconds: eventSeconds(e) - eventSeconds(started) }];
  });
}

function activitySeconds(history: History, type: string): number {
  const found = activityDurations(history).find((d) => d.type === type);
  if (!found) throw new Error(`no completed ${type} in the history`);
  return found.seconds;
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat). */
function machineBusySeconds(): number {
  const [, ...v] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = v.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** CPU seconds a process has used so far (user + system, /proc/<pid>/stat). */
function processCpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const gcsPid = (): number => Number(fs.readFileSync(path.join(repoRoot, '.stack/pids/gcs.pid'), 'utf8'));

/** Machine CPU, and the GCS emulator's share, spent while `fn` runs. */
function cpuOf<T>(fn: () => T): { value: T; machine: number; gcs: number } {
  const m0 = machineBusySeconds();
  const g0 = processCpuSeconds(gcsPid());
  const value = fn();
  return { value, machine: machineBusySeconds() - m0, gcs: processCpuSeconds(gcsPid()) - g0 };
}

/** `count` local 64 KiB files, and the same bytes as the objects of `exportName`'s run. */
async function ensureSmallFiles(exportName: string, count: number): Promise<string> {
  const dir = path.join(benchDir, `p2-${count}`);
  fs.mkdirSync(dir, { recursive: true });
  const prefix = `${exportName}/20250108/`;
  const names = Array.from({ length: count }, (_, i) => `P2_20250108-${String(i).padStart(12, '0')}.bin`);
  const [existing] = await bucket.getFiles({ prefix });
  const have = new Set(existing.map((f) => f.name));
  if (existing.length > count) throw new Error(`${prefix} holds ${existing.length} objects, expected ${count}: delete them first`);
  for (let i = 0; i < names.length; i += 32) {
    await Promise.all(names.slice(i, i + 32).map(async (n) => {
      const local = path.join(dir, n);
      if (!fs.existsSync(local)) fs.writeFileSync(local, crypto.randomBytes(64 * 1024));
      if (!have.has(prefix + n)) await bucket.file(prefix + n).save(fs.readFileSync(local), { resumable: false });
    }));
  }
  return dir;
}

/** Our transferFiles of `count` small objects vs `sftp -b` put of the same files, through `sftpPort`. */
async function smallFiles(label: string, exportName: string, count: number, configPath: string, sftpPort: number) {
  const dir = await ensureSmallFiles(exportName, count);
  const ours: number[] = [];
  const ref: number[] = [];
  const rclone: number[] = [];
  const rcloneBin = PEER_RCLONE && sftpPort === info.sftp.port ? ensureRclone(repoRoot, log) : undefined;
  const cpu = { ours_machine_ms_per_file: [] as number[], ours_node_ms_per_file: [] as number[], ours_gcs_ms_per_file: [] as number[], openssh_machine_ms_per_file: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    clearJailDir('/upload/bench');
    const r = cpuOf(() => sftpBatch(info, benchDir, [`put ${dir}/* /upload/bench/`], sftpPort));
    ref.push(r.value);
    cpu.openssh_machine_ms_per_file.push((r.machine / count) * 1000);
    if (rcloneBin) {
      clearJailDir('/upload/bench');
      rclone.push(rcloneCopy({ bin: rcloneBin, info, benchDir, prefix: `${exportName}/20250108/`, remoteDir: '/upload/bench', cipher: CIPHER, settings: RCLONE_SETTINGS.small }));
      log(`  round ${i + 1}: rclone ${fmt(count / rclone.at(-1)!, 0)} files/s`);
    }
    clearJailDir('/upload/bench');
    const o = cpuOf(() => runChild('transfer', configPath, exportName));
    ours.push(o.value.seconds);
    cpu.ours_machine_ms_per_file.push((o.machine / count) * 1000);
    cpu.ours_node_ms_per_file.push((o.value.cpuSeconds / count) * 1000);
    cpu.ours_gcs_ms_per_file.push((o.gcs / count) * 1000);
    log(`  round ${i + 1}: openssh ${fmt(count / ref.at(-1)!, 0)} files/s (machine CPU ${fmt(cpu.openssh_machine_ms_per_file.at(-1)!)} ms/file), ` +
      `ours ${fmt(count / ours.at(-1)!, 0)} files/s (machine CPU ${fmt(cpu.ours_machine_ms_per_file.at(-1)!)} ms/file: our process ${fmt(cpu.ours_node_ms_per_file.at(-1)!)}, GCS emulator ${fmt(cpu.ours_gcs_ms_per_file.at(-1)!)})`);
  }
  const o = stat(ours.map((s) => count / s));
  const rf = stat(ref.map((s) => count / s));
  const cpuStats = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, stat(v)]));
  const rc = rclone.length ? stat(rclone.map((s) => count / s)) : undefined;
  return {
    label, files: count, cipher: CIPHER, ours_files_per_s: o, openssh_files_per_s: rf, ratio: o.median / rf.median, cpu: cpuStats,
    ...(rc ? { rclone_files_per_s: rc, rclone_ratio: o.median / rc.median, rclone_version: RCLONE_VERSION, rclone_settings: RCLONE_SETTINGS.small.join(' ') } : {}),
  };
}

async function p2(configPath: string) {
  log(`P2: ${SMALL_FILES} × 64 KiB objects, files/s vs OpenSSH sftp -b batch put, loopback (${ROUNDS} rounds)`);
  return smallFiles('loopback', 'bench_p2', SMALL_FILES, configPath, info.sftp.port);
}

/** P2 through a proxy that adds RTT_MS of round-trip time: a partner's server across the internet. */
async function p2Wan() {
  log(`P2W: ${WAN_FILES} × 64 KiB objects through a ${RTT_MS} ms RTT proxy, files/s vs OpenSSH sftp -b (${ROUNDS} rounds)`);
  const proxy = await startProxyProcess(info.sftp.port, RTT_MS / 2);
  try {
    return { rtt_ms: RTT_MS, ...(await smallFiles(`${RTT_MS} ms RTT`, 'bench_p2w', WAN_FILES, benchConfig(proxy.port, 'config-wan.json'), proxy.port)) };
  } finally {
    proxy.child.kill('SIGTERM');
  }
}

function startProxyProcess(targetPort: number, oneWayMs: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'latency-proxy.ts'), String(targetPort), String(oneWayMs)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`latency proxy exited with ${code}`)));
  });
}

async function p3(configPath: string) {
  log(`P3: a whole ExportWorkflow vs the sum of its activities (${ROUNDS} rounds)`);
  const config = loadConfig({ path: configPath });
  const worker = await createWorker({ config });
  const client = await clientFor(config);
  const overheadPct: number[] = [];
  const overheadS: number[] = [];
  const totals: number[] = [];
  const transfers: number[] = [];
  try {
    await worker.runUntil((async () => {
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = Date.now();
        const handle = await startExport(client, config, { exportName: 'bench_p3', date: DATE });
        await handle.result();
        const history = await handle.fetchHistory();
        const total = (Date.now() - t0) / 1000;
        const durations = activityDurations(history);
        const activities = durations.reduce((sum, d) => sum + d.seconds, 0);
        const transfer = durations.find((d) => d.type === 'transferFiles')?.seconds ?? 0;
        totals.push(total);
        transfers.push(transfer);
        overheadPct.push(((total - activities) / Math.max(transfer, 1e-6)) * 100);
        overheadS.push(total - activities);
        log(`  round ${i + 1}: workflow ${fmt(total)} s, activities ${fmt(activities)} s, transfer ${fmt(transfer)} s, overhead ${fmt(total - activities)} s`);
      }
    })());
  } finally {
    await client.connection.close();
  }
  return { workflow_s: stat(totals), transfer_s: stat(transfers), overhead_s: stat(overheadS), overhead_pct_of_transfer: stat(overheadPct) };
}

async function p4(configPath: string) {
  log(`P4: verifySync over ${VERIFY_FILES} files (${ROUNDS} rounds)`);
  const prefix = 'bench_p4/20250108/';
  const names = Array.from({ length: VERIFY_FILES }, (_, i) => `P4_20250108-${String(i).padStart(12, '0')}.csv`);
  const [existing] = await bucket.getFiles({ prefix });
  const have = new Set(existing.map((f) => f.name));
  const missing = names.filter((n) => !have.has(prefix + n));
  for (let i = 0; i < missing.length; i += 64) {
    await Promise.all(missing.slice(i, i + 64).map((n) => bucket.file(prefix + n).save(Buffer.from(`${n}\n`), { resumable: false })));
  }
  clearJailDir('/upload/bench-p4');
  for (const n of names) fs.writeFileSync(path.join(jail, '/upload/bench-p4', n), `${n}\n`);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    times.push(runChild('verify', configPath, 'bench_p4').seconds);
    log(`  round ${i + 1}: ${fmt(times.at(-1)!)} s`);
  }
  return { files: VERIFY_FILES, seconds: stat(times) };
}

async function main(): Promise<void> {
  await requireStack();
  const configPath = benchConfig();
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, loopback`;
  setReferenceCipher(CIPHER);
  log(`bq-sftp bench on ${machine}; cipher ${CIPHER} for every SSH client (ours, OpenSSH sftp -c${PEER_RCLONE ? ', rclone' : ''}); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  const results: Record<string, unknown> = { machine, date: new Date().toISOString(), cipher: CIPHER, load_average_at_start: os.loadavg() };
  if (ONLY.includes('P0')) results.P0 = cliStart({ root: repoRoot, rounds: ROUNDS, log });
  if (ONLY.some((b) => b !== 'P0')) ensureBuilt((s) => log(`${s}\n`));
  if (ONLY.includes('P1')) results.P1 = await p1(configPath);
  if (ONLY.includes('P1M')) results.P1M = await p1Mixed(configPath);
  if (ONLY.includes('P2')) results.P2 = await p2(configPath);
  if (ONLY.includes('P2W')) results.P2W = await p2Wan();
  if (ONLY.includes('P3')) results.P3 = await p3(configPath);
  if (ONLY.includes('P4')) results.P4 = await p4(configPath);
  if (ONLY.includes('P5')) results.P5 = await p5({ info, benchDir, rounds: ROUNDS, log, writeRows: opt('ingest-rows', 1_000_000), workerEnv: LEAN_ENV });
  if (ONLY.includes('P6')) results.P6 = await p6({ info, benchDir, rounds: ROUNDS, log });
  if (ONLY.includes('P9')) results.P9 = await p9({ info, benchDir, rounds: ROUNDS, sizeMib: SIZE_MIB, log });
  if (ONLY.includes('P7')) results.P7 = await p7({ info, benchDir, rounds: ROUNDS, log, workerEnv: LEAN_ENV, split: SPLIT });
  if (ONLY.includes('P8')) results.P8 = await p8({ info, benchDir, rounds: ROUNDS, log, records: opt('etl-records', 100_000), workerEnv: LEAN_ENV });
  clearJailDir('/upload/bench');
  results.load_average_at_end = os.loadavg();
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  log('\nSummary (median, min–max):');
  const r = results as Record<string, Record<string, Stat & number>>;
  if (r.P0) log(`  P0 CLI start (--help): compiled ${range(r.P0.compiled_s)} s, ${range(r.P0.compiled_rss_mb, 0)} MB vs tsx ${range(r.P0.tsx_s)} s, ${range(r.P0.tsx_rss_mb, 0)} MB → ${fmt(r.P0.ratio)}× (target ≤ 0.5×)`);
  if (r.P1) log(`  P1 ${SIZE_MIB} MiB (${CIPHER}): ours ${range(r.P1.ours_s)} s vs OpenSSH ${range(r.P1.openssh_s)} s → ${fmt(r.P1.ratio)}× OpenSSH (target ≥ 1.3×; OpenSSH with its default cipher ${range(r.P1.openssh_default_cipher_s)} s)` +
    `${r.P1.rclone_s ? `, rclone ${range(r.P1.rclone_s)} s → ${fmt(r.P1.rclone_ratio)}× rclone (target ≥ 1.3×)` : ''}; worker peak RSS ${range(r.P1.peak_rss_mb, 0)} MB, of which ${range(r.P1.baseline_rss_mb, 0)} MB before the transfer started (target < 150 MB)` +
    `${r.P1.lean_launcher_rss_mb ? ` + its launcher ${range(r.P1.lean_launcher_rss_mb, 0)} MB` : ''}`);
  if (r.P1M) log(`  P1M 1 × ${SIZE_MIB} MiB + ${MIXED_SMALL} × 64 KiB in one run: ${range(r.P1M.ours_s)} s, worker peak RSS ${range(r.P1M.peak_rss_mb, 0)} MB, ${range(r.P1M.baseline_rss_mb, 0)} MB before, ${range(r.P1M.after_rss_mb, 0)} MB after (target < 200 MB)${r.P1M.lean_launcher_rss_mb ? `; + its launcher ${range(r.P1M.lean_launcher_rss_mb, 0)} MB` : ''}`);
  for (const key of ['P2', 'P2W'] as const) {
    const x = r[key] as unknown as Awaited<ReturnType<typeof smallFiles>> | undefined;
    if (!x) continue;
    if (x.rclone_files_per_s) log(`  ${key} ${x.files} × 64 KiB, ${x.label}: ours ${range(x.ours_files_per_s, 0)} files/s vs rclone ${range(x.rclone_files_per_s, 0)} → ${fmt(x.rclone_ratio!)}× rclone (target ≥ 1.5×)`);
    log(`  ${key} ${x.files} × 64 KiB, ${x.label}: ours ${range(x.ours_files_per_s, 0)} files/s vs OpenSSH ${range(x.openssh_files_per_s, 0)} → ${fmt(x.ratio)}× (target ≥ 2×); ` +
      `machine CPU per file: ours ${range(x.cpu.ours_machine_ms_per_file)} ms (our process ${range(x.cpu.ours_node_ms_per_file)}, GCS emulator ${range(x.cpu.ours_gcs_ms_per_file)}), OpenSSH ${range(x.cpu.openssh_machine_ms_per_file)} ms`);
  }
  if (r.P3) log(`  P3 ExportWorkflow overhead: ${range(r.P3.overhead_s)} s = ${range(r.P3.overhead_pct_of_transfer, 1)} % of a ${range(r.P3.transfer_s)} s transfer (target ≤ 15 %)`);
  if (r.P4) log(`  P4 verifySync ${VERIFY_FILES} files: ${range(r.P4.seconds)} s (target ≤ 5 s)`);
  const p5s = (results.P5 as P5Result | undefined)?.split;
  if (r.P5 && p5s) log(`  P5 ingest write path ${r.P5.write_rows} rows: ours ${range(r.P5.ours_write_rows_per_s, 0)} rows/s vs psql \\copy ${range(r.P5.psql_copy_rows_per_s, 0)} → ${range(r.P5.write_ratio)}× (target ≥ 0.5×); end to end ${r.P5.e2e_rows} rows: job ${range(r.P5.ours_e2e_rows_per_s, 0)} rows/s vs emulator read ${range(r.P5.emulator_read_rows_per_s, 0)} → ${range(r.P5.e2e_ratio)}× (target ≥ 0.8×), whole worker peak RSS ${range(r.P5.peak_rss_mb, 0)} MB (${range(r.P5.idle_rss_mb, 0)} MB idle; target < 200 MB); split lean set-up (activities-only worker, ${LEAN_SETTINGS}): job ${range(p5s.ours_e2e_rows_per_s, 0)} rows/s vs ${range(p5s.emulator_read_rows_per_s, 0)} → ${range(p5s.e2e_ratio)}×, peak RSS ${range(p5s.peak_rss_mb, 0)} MB (${range(p5s.idle_rss_mb, 0)} MB idle)`);
  if (r.P6) log(`  P6 inbox, 1,000 files claimed + submitted in signed batches: ours ${range(r.P6.ours_s)} s vs sftp -b renames ${range(r.P6.openssh_s)} s → ${range(r.P6.ratio)}× (target ≤ 2×)`);
  if (r.P7) log(`  P7 backup ${r.P7.rows} rows → Parquet → SFTP: ours ${range(r.P7.ours_s)} s vs extract ${range(r.P7.extract_s)} s + sftp put ${range(r.P7.sftp_put_s)} s → ${range(r.P7.ratio)}× (target ≤ 1.3×), worker peak RSS ${range(r.P7.peak_rss_mb, 0)} MB (target < 200 MB)`);
  const p8s = (results.P8 as Awaited<ReturnType<typeof p8>> | undefined)?.split;
  if (r.P8) log(`  P8 ETL ${r.P8.records} users: ours ${range(r.P8.ours_records_per_s, 0)} records/s vs reading the API only ${range(r.P8.floor_records_per_s, 0)} → ${range(r.P8.ratio)}× (target ≥ 0.5×), whole worker peak RSS ${range(r.P8.peak_rss_mb, 0)} MB (target < 200 MB)` +
    (p8s ? `; split lean set-up (activities-only worker): ${range(p8s.ours_records_per_s, 0)} records/s → ${range(p8s.ratio)}×, peak RSS ${range(p8s.peak_rss_mb, 0)} MB (${range(p8s.idle_rss_mb, 0)} MB idle)` : ''));
  if (r.P9) log(`  P9 ${r.P9.size_mib} MiB encrypted + signed: ours ${range(r.P9.ours_s)} s vs gpg ${range(r.P9.gpg_s)} s + sftp put ${range(r.P9.sftp_put_s)} s = ${range(r.P9.reference_s)} s → ${range(r.P9.ratio)}× (target ≥ 1×), worker CPU ${range(r.P9.cpu_encrypted_s)} s (plain transfer ${range(r.P9.cpu_plain_s)} s); worker peak RSS ${range(r.P9.peak_rss_encrypted_mb, 0)} MB encrypted vs ${range(r.P9.peak_rss_plain_mb, 0)} MB plain (target within 50 MB); gpg decrypts ours: ${r.P9.decrypts_with_gpg}`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
