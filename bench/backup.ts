/**
 * P7: the backup family (seed 003). The 200,000-row demo table backed up end to end (a
 * BackupWorkflow in a real `bq-sftp worker` process: the rows read with tabledata.list →
 * worker-side Parquet/Snappy → SFTP → manifest → staging deleted) against the sum of the two floors measured in the same
 * run: the emulator's extract of the same table alone, plus OpenSSH `sftp put` of the extracted
 * files from local disk. Target ≤ 1.3× that sum; peak worker RSS < 200 MB.
 */
import fs from 'node:fs';
import path from 'node:path';
import { configSchema } from '../src/config';
import { clientFor } from '../src/cli/config-option';
import { createBigQuery } from '../src/bigquery/client';
import { createStorage } from '../src/gcs/client';
import { startBackup } from '../src/backup/starter';
import { BACKUP_DEMO_BIG_ROWS, BACKUP_DEMO_BIG_TABLE, BACKUP_DEMO_DATASET } from '../src/stack/seed-backup';
import type { StackInfo } from '../src/stack/stack-info';
import { WorkerProcess } from '../test/faults/helpers/worker-process';
import { sftpBatch } from './reference';
import { cpuSeconds, stat, type Stat } from './stats';

export interface P7Result {
  rows: number;
  ours_s: Stat;
  extract_s: Stat;
  sftp_put_s: Stat;
  reference_s: Stat;
  ratio: Stat;
  peak_rss_mb: Stat;
  /** the measured worker's RSS once started, before the backup */
  idle_rss_mb: Stat;
  /** CPU seconds (user + system) of the measured worker during the backup */
  worker_cpu_s: Stat;
  /** extract_and_parquet: the whole backupExtractTable activity; extract_job / table_read / parquet_writer: its seconds (manifest `seconds`) */
  steps_s: { extract_and_parquet: Stat; transfer: Stat; extract_job: Stat; table_read: Stat; parquet_writer: Stat };
  parquet_bytes: number;
  extract_bytes: number;
  parquet_writer: string;
  row_source: string;
}

function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}
const vmHwmMb = (pid: number) => statusMb(pid, 'VmHWM');


export async function p7(opts: { info: StackInfo; benchDir: string; rounds: number; log: (s: string) => void; workerEnv?: Record<string, string>; split?: boolean }): Promise<P7Result> {
  const { info, benchDir, rounds, log } = opts;
  log(`${opts.split ? '(activities-only worker measured) ' : ''}P7: backup of ${BACKUP_DEMO_DATASET}.${BACKUP_DEMO_BIG_TABLE} (${BACKUP_DEMO_BIG_ROWS.toLocaleString('en')} rows) → Parquet → SFTP vs the emulator's extract + sftp put of its files (${rounds} rounds)`);
  const dir = path.join(benchDir, 'p7');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const input = {
    ...demo,
    temporal: { ...demo.temporal, task_queue: 'bq-sftp-bench-p7' },
    sftp: { ...demo.sftp, directory: '/upload/bench-p7' },
    backups: { bench_p7: { dataset: BACKUP_DEMO_DATASET, tables: [BACKUP_DEMO_BIG_TABLE], destination: { type: 'sftp' } } },
  };
  const config = configSchema.parse(input);
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(input), { mode: 0o600 });
  const client = await clientFor(config);
  const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
  const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
  const ours: number[] = [];
  const extract: number[] = [];
  const put: number[] = [];
  const rss: number[] = [];
  const idle: number[] = [];
  const cpu: number[] = [];
  const steps = { extract_and_parquet: [] as number[], transfer: [] as number[], extract_job: [] as number[], table_read: [] as number[], parquet_writer: [] as number[] };
  let parquetBytes = 0;
  let extractBytes = 0;
  let writer = '';
  let rowSource = '';
  try {
    for (let i = 0; i < rounds; i++) {
      // floor 1: the emulator's extract of the table alone (JSON, what it can write)
      const prefix = `bench_p7/ref/${i}/`;
      const t0 = performance.now();
      const [job] = await bq.createJob({
        configuration: {
          extract: {
            sourceTable: { projectId: info.bigquery.projectId, datasetId: BACKUP_DEMO_DATASET, tableId: BACKUP_DEMO_BIG_TABLE },
            destinationUris: [`gs://${info.gcs.bucket}/${prefix}rows-*.json`],
            destinationFormat: 'NEWLINE_DELIMITED_JSON',
          },
        },
      });
      for (;;) {
        const [m] = await job.getMetadata();
        if ((m as { status?: { state?: string } }).status?.state === 'DONE') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      extract.push((performance.now() - t0) / 1000);
      // floor 2: OpenSSH sftp put of the extracted files from local disk
      const [files] = await storage.bucket(info.gcs.bucket).getFiles({ prefix });
      const locals: string[] = [];
      for (const f of files) {
        const local = path.join(dir, `ref-${path.basename(f.name).replace(/[^A-Za-z0-9._-]/g, '_')}`);
        await f.download({ destination: local });
        locals.push(local);
        extractBytes = fs.statSync(local).size;
        await f.delete();
      }
      put.push(sftpBatch(info, dir, ['-mkdir /upload/bench-p7-ref', ...locals.map((l) => `put ${l} /upload/bench-p7-ref/${path.basename(l)}`)]));
      for (const l of locals) fs.rmSync(l);

      // ours: the whole backup in a fresh worker process (its peak RSS is this run's)
      const env = { BQSFTP_LOG_LEVEL: 'WARN', ...opts.workerEnv };
      const worker = await WorkerProcess.start({ configPath, logPath: path.join(dir, `worker-${i + 1}.log`), env, args: opts.split ? ['--only', 'activities'] : [] });
      const workflowHalf = opts.split ? await WorkerProcess.start({ configPath, logPath: path.join(dir, `workflows-${i + 1}.log`), env, args: ['--only', 'workflows'] }) : undefined;
      idle.push(statusMb(worker.pid, 'VmRSS'));
      const cpu0 = cpuSeconds(worker.pid);
      try {
        const handle = await startBackup(client, config, { backup: 'bench_p7', date: `2030-01-${String(i + 1).padStart(2, '0')}` });
        const r = await handle.result();
        const t = r.tables[0];
        if (r.errors || t.rows !== BACKUP_DEMO_BIG_ROWS) throw new Error(`the backup did not complete: ${JSON.stringify(r)}`);
        parquetBytes = t.bytes ?? 0;
        writer = t.parquet_writer ?? '';
        const events = (await handle.fetchHistory()).events ?? [];
        const ts = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
        ours.push(ts(events.at(-1)!) - ts(events[0]));
        const scheduled = new Map<string, { at: number; type?: string }>();
        for (const e of events) {
          const s = e.activityTaskScheduledEventAttributes;
          if (s) scheduled.set(String(e.eventId), { at: ts(e), type: s.activityType?.name ?? undefined });
          const c = e.activityTaskCompletedEventAttributes;
          const start = c && scheduled.get(String(c.scheduledEventId));
          if (start?.type === 'backupExtractTable') {
            steps.extract_and_parquet.push(ts(e) - start.at);
            const payload = c!.result?.payloads?.[0];
            const x = payload?.data ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as { row_source?: string; seconds?: { extract: number; read?: number; parquet_writer: number } }) : undefined;
            if (x?.seconds) {
              steps.extract_job.push(x.seconds.extract);
              steps.table_read.push(x.seconds.read ?? 0);
              steps.parquet_writer.push(x.seconds.parquet_writer);
            }
            rowSource = x?.row_source ?? '';
          }
          if (start?.type === 'backupTransferTable') steps.transfer.push(ts(e) - start.at);
        }
        rss.push(vmHwmMb(worker.pid));
        cpu.push(cpuSeconds(worker.pid) - cpu0);
      } finally {
        await worker.stop();
        await workflowHalf?.stop();
      }
      log(
        `  round ${i + 1}: ours ${ours.at(-1)!.toFixed(2)} s (rows + Parquet ${steps.extract_and_parquet.at(-1)?.toFixed(2)} s = extract job ${steps.extract_job.at(-1)?.toFixed(2)} + ${rowSource || 'rows'} read ${steps.table_read.at(-1)?.toFixed(2)} + Parquet writer ${steps.parquet_writer.at(-1)?.toFixed(2)} + the rest, transfer ${steps.transfer.at(-1)?.toFixed(2)} s), ` +
          `extract alone ${extract.at(-1)!.toFixed(2)} s + sftp put ${put.at(-1)!.toFixed(2)} s, ${opts.split ? 'activities-only ' : ''}worker peak RSS ${rss.at(-1)} MB (${idle.at(-1)} MB idle before), its CPU ${cpu.at(-1)!.toFixed(2)} s`,
      );
    }
  } finally {
    await client.connection.close();
  }
  const reference = extract.map((e, i) => e + put[i]);
  return {
    rows: BACKUP_DEMO_BIG_ROWS,
    ours_s: stat(ours),
    extract_s: stat(extract),
    sftp_put_s: stat(put),
    reference_s: stat(reference),
    ratio: stat(ours.map((o, i) => o / reference[i])),
    peak_rss_mb: stat(rss),
    idle_rss_mb: stat(idle),
    worker_cpu_s: stat(cpu),
    steps_s: {
      extract_and_parquet: stat(steps.extract_and_parquet),
      transfer: stat(steps.transfer),
      extract_job: stat(steps.extract_job),
      table_read: stat(steps.table_read),
      parquet_writer: stat(steps.parquet_writer),
    },
    parquet_bytes: parquetBytes,
    extract_bytes: extractBytes,
    parquet_writer: writer,
    row_source: rowSource,
  };
}
