/**
 * P6: the inbox family (seed 004). 1,000 finished files in an inbox until all of them are
 * submitted (claimed by rename into in_progress/MMDDYYYY/, batched by 5, each batch a child
 * workflow that signs and POSTs to a local receiver), against OpenSSH `sftp -b` renaming the
 * same 1,000 files (the floor for claiming them), measured in the same run. Target ≤ 2×.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StackInfo } from '../src/stack/stack-info';
import { validateConfig } from '../src/config';
import { clientFor } from '../src/cli/config-option';
import { startPoll } from '../src/inbox/client';
import { folderDate } from '../src/inbox/naming';
import { startInboxReceiver } from '../src/inbox/receiver';
import { createWorker } from '../src/worker';
import { sftpBatch } from './reference';
import { stat, type Stat } from './stats';

export interface P6Result {
  files: number;
  batch_size: number;
  max_parallel_batches: number;
  ours_s: Stat;
  openssh_s: Stat;
  ratio: Stat;
  submitted_exactly_once: boolean;
}

export async function p6(opts: { info: StackInfo; benchDir: string; rounds: number; files?: number; log: (s: string) => void; maxParallel?: number }): Promise<P6Result> {
  const { info, benchDir, rounds, log } = opts;
  const files = opts.files ?? 1000;
  const maxParallel = opts.maxParallel ?? Number(process.env.BENCH_P6_PARALLEL || 16);
  // the inbox default is 5; BENCH_P6_BATCH measures the trade-off (fewer, larger batches: fewer child workflows)
  const batchSize = Number(process.env.BENCH_P6_BATCH || 5);
  const jail = info.sftp.keyUser.localRoot;
  const { uid, gid } = fs.statSync(path.join(jail, 'upload'));
  const names = Array.from({ length: files }, (_, i) => `doc-${String(i).padStart(5, '0')}.pdf`);
  const body = Buffer.alloc(16 * 1024, 0x20);
  const fill = (remoteDir: string) => {
    const dir = path.join(jail, remoteDir);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    for (let d = dir; d.startsWith(path.join(jail, 'upload/')); d = path.dirname(d)) fs.chownSync(d, uid, gid);
    for (const n of names) {
      const p = path.join(dir, n);
      fs.writeFileSync(p, body);
      fs.chownSync(p, uid, gid);
      fs.utimesSync(p, old, old);
    }
  };
  const mkOwned = (remoteDir: string) => {
    const dir = path.join(jail, remoteDir);
    fs.mkdirSync(dir, { recursive: true });
    fs.chownSync(dir, uid, gid);
  };

  const secret = crypto.randomBytes(24).toString('base64url');
  const receiver = await startInboxReceiver({ secret });
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const base = '/upload/bench-p6';
  const config = validateConfig({
    ...demo,
    temporal: { ...demo.temporal, task_queue: 'bq-sftp-bench-p6' },
    sftp: {
      username: info.sftp.keyUser.username, private_key_path: info.sftp.keyUser.privateKeyPath, passphrase: info.sftp.keyUser.passphrase,
      host: info.sftp.host, port: info.sftp.port, directory: '/upload', host_key: info.sftp.hostKeyFingerprint, max_connections: 4,
    },
    // complete = unchanged since 1 s ago (the files were finished a minute before): no fixed 1.2 s wait
    inboxes: { bench_p6: { path: base, stable_for: '0ms', min_age: '1s', batch_size: batchSize, max_parallel_batches: maxParallel, api: { url: receiver.url, secret } } },
  }, 'the P6 bench config');
  const client = await clientFor(config);
  const worker = await createWorker({ config });
  const ours: number[] = [];
  const reference: number[] = [];
  let exactlyOnce = true;
  log(`P6: ${files} finished files in an inbox until all are submitted (batches of ${batchSize}, ${maxParallel} at a time) vs \`sftp -b\` renaming them (${rounds} rounds)`);
  try {
    await worker.runUntil((async () => {
      for (let r = 0; r < rounds; r++) {
        // the reference: OpenSSH renames the same files into a dated folder, one request each
        fs.rmSync(path.join(jail, '/upload/bench-p6-ref'), { recursive: true, force: true });
        fill('/upload/bench-p6-ref/input');
        mkOwned('/upload/bench-p6-ref/in_progress');
        const date = folderDate(new Date(), 'UTC');
        reference.push(sftpBatch(info, benchDir, [`mkdir /upload/bench-p6-ref/in_progress/${date}`, ...names.map((n) => `rename /upload/bench-p6-ref/input/${n} /upload/bench-p6-ref/in_progress/${date}/${n}`)]));

        fill(`${base}/input`);
        fs.rmSync(path.join(jail, base, 'in_progress'), { recursive: true, force: true });
        fs.rmSync(path.join(jail, base, '.bq-sftp'), { recursive: true, force: true });
        receiver.requests.length = 0;
        const t0 = process.hrtime.bigint();
        const poll = await startPoll(client, config, 'bench_p6');
        const result = await poll.result;
        ours.push(Number(process.hrtime.bigint() - t0) / 1e9);
        const submitted = receiver.requests.filter((q) => q.status < 300 && !q.signature_problem).flatMap((q) => q.files.map((f) => f.filename));
        if (submitted.length !== files || new Set(submitted).size !== files || result.claimed.length !== files) exactlyOnce = false;
        log(`  round ${r + 1}: ours ${ours.at(-1)!.toFixed(2)} s (${result.batches.length} batches, ${submitted.length} files at the receiver), sftp -b ${reference.at(-1)!.toFixed(2)} s`);
      }
    })());
  } finally {
    await client.connection.close();
    await receiver.close();
    fs.rmSync(path.join(jail, base), { recursive: true, force: true });
    fs.rmSync(path.join(jail, '/upload/bench-p6-ref'), { recursive: true, force: true });
  }
  return {
    files,
    batch_size: batchSize,
    max_parallel_batches: maxParallel,
    ours_s: stat(ours),
    openssh_s: stat(reference),
    ratio: stat(ours.map((o, i) => o / reference[i])),
    submitted_exactly_once: exactlyOnce,
  };
}
