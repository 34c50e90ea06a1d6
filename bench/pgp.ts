/**
 * P9: OpenPGP deliveries. One object GCS → SFTP encrypted to a partner's key and signed with
 * ours while streaming (a real `bq-sftp worker` process running TransferWorkflow; time from the
 * history), against the two steps a script would run: `gpg --encrypt --sign` of the same bytes
 * from local disk to /dev/null, plus OpenSSH `sftp put` of the encrypted file — the sum of the
 * two, measured in the same run. Target: at most that sum (we stream both steps at once).
 * Also the worker's peak RSS for the encrypted transfer and for the same object unencrypted.
 * gpg runs with --compress-algo none: we do not compress either (and the bench bytes are random).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import type { StackInfo } from '../src/stack/stack-info';
import { createStorage } from '../src/gcs/client';
import { loadConfig } from '../src/config';
import { clientFor } from '../src/cli/config-option';
import { WorkerProcess } from '../test/faults/helpers/worker-process';
import { sftpBatch } from './reference';
import { cpuSeconds, fmt, stat, type Stat } from './stats';

export interface P9Result {
  size_mib: number;
  ours_s: Stat;
  /** the worker's CPU seconds for the encrypted and the plain transfer */
  cpu_encrypted_s: Stat;
  cpu_plain_s: Stat;
  gpg_s: Stat;
  sftp_put_s: Stat;
  reference_s: Stat;
  /** reference sum / ours: ≥ 1 meets the target */
  ratio: Stat;
  ours_mib_s: number;
  peak_rss_encrypted_mb: Stat;
  peak_rss_plain_mb: Stat;
  encrypted_bytes: number;
  decrypts_with_gpg: boolean;
}

const DATE = '2025-01-08';

function gpgHome(root: string, name: string, passphrase: string) {
  const home = path.join(root, name);
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const base = ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', passphrase, '--trust-model', 'always'];
  const run = (args: string[], input?: Buffer) => {
    const r = spawnSync('gpg', [...base, ...args], { env: { ...process.env, GNUPGHOME: home }, input, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${r.stderr.toString()}`);
    return r.stdout;
  };
  run(['--quick-gen-key', `${name} <${name}@example.com>`, 'ed25519', 'sign', '1y']);
  const fpr = run(['--with-colons', '--list-keys']).toString().split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  run(['--quick-add-key', fpr, 'cv25519', 'encr', '1y']);
  return { home, fpr, run, pub: run(['--armor', '--export', fpr]).toString(), sec: run(['--armor', '--export-secret-keys', fpr]).toString() };
}

/** The process doing the work: `bq-sftp worker` may start itself again with lean memory flags (its only child then). */
function leafPid(pid: number): number {
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return children.length === 1 ? leafPid(children[0]) : pid;
  } catch {
    return pid;
  }
}

function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
const at = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) => Number(e.eventTime?.seconds) + (e.eventTime?.nanos ?? 0) / 1e9;
function transferSeconds(history: History): number {
  const events = history.events ?? [];
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    const started = done && byId.get(Number(done.startedEventId));
    if (done && started && byId.get(Number(done.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name === 'transferFiles') return at(e) - at(started);
  }
  throw new Error('no completed transferFiles in the history');
}

export async function p9(opts: { info: StackInfo; benchDir: string; rounds: number; sizeMib: number; log: (s: string) => void }): Promise<P9Result> {
  const { info, benchDir, rounds, sizeMib, log } = opts;
  log(`P9: one ${sizeMib} MiB object GCS→SFTP encrypted + signed while streaming vs gpg --encrypt --sign to /dev/null + sftp put of the result (${rounds} rounds)`);
  const jail = info.sftp.keyUser.localRoot;
  const local = path.join(benchDir, `p9-${sizeMib}MiB.bin`);
  if (!fs.existsSync(local) || fs.statSync(local).size !== sizeMib * 1024 * 1024) {
    const fd = fs.openSync(local, 'w');
    const chunk = Buffer.alloc(4 << 20);
    for (let left = sizeMib * 1024 * 1024; left > 0; left -= chunk.length) fs.writeSync(fd, crypto.randomFillSync(chunk), 0, Math.min(chunk.length, left));
    fs.closeSync(fd);
  }
  const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
  const bucket = storage.bucket(info.gcs.bucket);
  for (const exp of ['bench_p9', 'bench_p9_plain']) {
    const file = bucket.file(`${exp}/20250108/P9_20250108-000000000000.bin`);
    const [exists] = await file.exists();
    if (!exists || Number((await file.getMetadata())[0].size) !== fs.statSync(local).size) await bucket.upload(local, { destination: file.name, resumable: false });
  }

  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-p9-'));
  const partner = gpgHome(keysDir, 'partner', '');
  const us = gpgHome(keysDir, 'us', 'p9-passphrase');
  us.run(['--import'], Buffer.from(partner.pub));
  partner.run(['--import'], Buffer.from(us.pub));

  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const cfg = {
    ...demo,
    temporal: { ...demo.temporal, task_queue: 'bq-sftp-bench-p9' },
    sftp: {
      username: info.sftp.keyUser.username, private_key_path: info.sftp.keyUser.privateKeyPath, passphrase: info.sftp.keyUser.passphrase,
      host: info.sftp.host, port: info.sftp.port, directory: '/upload/bench-p9', host_key: info.sftp.hostKeyFingerprint, max_connections: 8,
    },
    exports: {
      bench_p9: { query: 'SELECT 1', file_prefix: 'P9', pgp: { recipients: [partner.pub], signing_private_key: { env: 'P9_SIGNING_KEY' }, passphrase: { env: 'P9_PASSPHRASE' } } },
      bench_p9_plain: { query: 'SELECT 1', file_prefix: 'P9' },
    },
  };
  const configPath = path.join(benchDir, 'config-p9.json');
  fs.writeFileSync(configPath, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  // BQSFTP_CPU_PROF_DIR: the workers write a CPU profile there when they exit (bench/cpu-profile-preload.cjs)
  const prof: Record<string, string> = process.env.BQSFTP_CPU_PROF_DIR ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(__dirname, 'cpu-profile-preload.cjs')}`.trim() } : {};
  const env = { BQSFTP_LOG_LEVEL: 'WARN', P9_SIGNING_KEY: us.sec, P9_PASSPHRASE: 'p9-passphrase', ...prof };
  const clear = () => {
    const dir = path.join(jail, 'upload/bench-p9');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const { uid, gid } = fs.statSync(path.join(jail, 'upload'));
    fs.chownSync(dir, uid, gid);
  };

  process.env.P9_SIGNING_KEY = us.sec; // loadConfig below resolves the references too
  process.env.P9_PASSPHRASE = 'p9-passphrase';
  const config = loadConfig({ path: configPath });
  const worker = await WorkerProcess.start({ configPath, logPath: path.join(benchDir, 'p9-worker.log'), env });
  const client = await clientFor(config);
  const ours: number[] = [];
  const cpuEnc: number[] = [];
  const cpuPlain: number[] = [];
  const gpgS: number[] = [];
  const putS: number[] = [];
  const rssEnc: number[] = [];
  const rssPlain: number[] = [];
  let encryptedBytes = 0;
  let decrypts = false;
  const encFile = path.join(benchDir, 'p9-ref.pgp');
  const gpgArgs = ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', 'p9-passphrase', '--trust-model', 'always', '--compress-algo', 'none', '--recipient', partner.fpr, '--local-user', us.fpr, '--encrypt', '--sign'];
  const timed = (fn: () => void) => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const transfer = async (exportName: string, i: number): Promise<{ seconds: number; peak: number; cpu: number }> => {
    clear();
    const pid = leafPid(worker.pid);
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const cpu0 = cpuSeconds(pid);
    const handle = await client.workflow.start('TransferWorkflow', {
      taskQueue: config.temporal.task_queue,
      workflowId: `bench-p9-${exportName}-${Date.now()}-${i}`,
      args: [{ exportName, date: DATE, gcsPath: `gs://${info.gcs.bucket}/${exportName}/20250108/` }],
    });
    await handle.result();
    return { seconds: transferSeconds(await handle.fetchHistory()), peak: procStatusMb(pid, 'VmHWM'), cpu: cpuSeconds(pid) - cpu0 };
  };
  try {
    // warm-up, not measured: a fresh worker's first workflow loads its workflow sandbox and code,
    // which would otherwise land on round 1's encrypted transfer (it runs first in each round)
    const warm = await transfer('bench_p9_plain', -1);
    // gpg too: its first run starts gpg-agent and unlocks our key, which later rounds do not pay
    fs.writeFileSync(`${encFile}.warm`, 'warm-up');
    const g = spawnSync('gpg', [...gpgArgs, '--output', '/dev/null', `${encFile}.warm`], { env: { ...process.env, GNUPGHOME: us.home } });
    fs.rmSync(`${encFile}.warm`, { force: true });
    if (g.status !== 0) throw new Error(`gpg: ${g.stderr.toString()}`);
    log(`  warm-up (plain transfer and one gpg run, not counted): ${fmt(warm.seconds)} s`);
    for (let i = 0; i < rounds; i++) {
      // the reference: encrypt+sign to /dev/null (the crypto alone), then put the encrypted file (made untimed)
      gpgS.push(timed(() => {
        const r = spawnSync('gpg', [...gpgArgs, '--output', '/dev/null', local], { env: { ...process.env, GNUPGHOME: us.home } });
        if (r.status !== 0) throw new Error(`gpg: ${r.stderr.toString()}`);
      }));
      if (!fs.existsSync(encFile)) {
        const r = spawnSync('gpg', [...gpgArgs, '--output', encFile, local], { env: { ...process.env, GNUPGHOME: us.home } });
        if (r.status !== 0) throw new Error(`gpg: ${r.stderr.toString()}`);
      }
      clear();
      putS.push(sftpBatch(info, benchDir, [`put ${encFile} /upload/bench-p9/ref.pgp`]));
      const enc = await transfer('bench_p9', i);
      ours.push(enc.seconds);
      rssEnc.push(enc.peak);
      const published = path.join(jail, 'upload/bench-p9/P9_20250108-000000000000.bin.pgp');
      encryptedBytes = fs.statSync(published).size;
      if (i === 0) {
        // correctness once: gpg decrypts our file to the object's bytes (streamed into sha256)
        const r = spawnSync('sh', ['-c', `gpg --batch --no-tty --trust-model always --decrypt '${published}' 2>/dev/null | sha256sum`], { env: { ...process.env, GNUPGHOME: partner.home }, encoding: 'utf8' });
        const want = spawnSync('sha256sum', [local], { encoding: 'utf8' }).stdout.split(' ')[0];
        decrypts = r.stdout.split(' ')[0] === want;
      }
      const plain = await transfer('bench_p9_plain', i);
      rssPlain.push(plain.peak);
      cpuEnc.push(enc.cpu);
      cpuPlain.push(plain.cpu);
      log(`  round ${i + 1}: gpg ${fmt(gpgS.at(-1)!)} s + sftp put ${fmt(putS.at(-1)!)} s = ${fmt(gpgS.at(-1)! + putS.at(-1)!)} s; ours ${fmt(ours.at(-1)!)} s, worker CPU ${fmt(enc.cpu)} s; ` +
        `worker peak RSS encrypted ${fmt(rssEnc.at(-1)!, 0)} MB vs unencrypted ${fmt(rssPlain.at(-1)!, 0)} MB (plain transfer ${fmt(plain.seconds)} s, CPU ${fmt(plain.cpu)} s); load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    }
  } finally {
    await client.connection.close();
    await worker.stop();
    for (const h of [partner.home, us.home]) spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: h } });
    fs.rmSync(keysDir, { recursive: true, force: true });
    fs.rmSync(encFile, { force: true });
    clear();
  }
  const refSums = gpgS.map((g, i) => g + putS[i]);
  const o = stat(ours);
  return {
    size_mib: sizeMib,
    ours_s: o,
    cpu_encrypted_s: stat(cpuEnc),
    cpu_plain_s: stat(cpuPlain),
    gpg_s: stat(gpgS),
    sftp_put_s: stat(putS),
    reference_s: stat(refSums),
    ratio: stat(refSums.map((r, i) => r / ours[i])),
    ours_mib_s: sizeMib / o.median,
    peak_rss_encrypted_mb: stat(rssEnc),
    peak_rss_plain_mb: stat(rssPlain),
    encrypted_bytes: encryptedBytes,
    decrypts_with_gpg: decrypts,
  };
}
