import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { once } from 'node:events';
import { activityInfo, ApplicationFailure, Context, heartbeat, log } from '@temporalio/activity';
import type { File, Storage } from '@google-cloud/storage';
import type { Table } from '@google-cloud/bigquery';
import type { ActivityDeps } from '../activities';
import { parseRunDate } from '../config';
import { permanentFailure, toApplicationFailure, withFailureMapping } from '../activities/failures';
import { runLimited } from '../activities/run-limited';
import { watchForStall } from '../activities/stall-watchdog';
import type { BackupConfig } from './config';
import { joinRel, openDestination, type BackupDestination, type DestEntry } from './destinations';
import { checkSourceRead } from './destinations/hashing';
import { isUnsupportedFormat, listDatasetTables, notFoundIsPermanent, runExtract, tableMetadata } from './bigquery';
import { MANIFEST_NAME, folderDate, renderBackupPath, stagingPrefix, tableBackupsFolder, tablesFolder, type PathVars } from './naming';
import type { BqField } from './parquet';
import type * as ParquetModule from './parquet';
import { tableToParquet, type ParquetPartSink, type TableToParquetResult } from './table-read';
import type * as PgpBackup from '../pgp/backup';
import type { BackupPgpSummary } from '../pgp/backup';
import { lazyFunctions } from '../activities/lazy';

// OpenPGP loads only for a backup with a `pgp` block (or an encrypted backup read back).
const { usableBackupKeys, backupReadKeys, encryptBackupFile, decryptBackupFile, isPgpError } = lazyFunctions(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  () => require('../pgp/backup') as typeof PgpBackup,
  ['usableBackupKeys', 'backupReadKeys', 'encryptBackupFile', 'decryptBackupFile', 'isPgpError'],
);

// The Parquet writer (hyparquet-writer) loads on first use: an idle worker, or one whose BigQuery
// writes Parquet itself, never pays for it. `require`, not `import()`: under tsx's CommonJS hook a
// dynamic import goes to the ESM loader.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parquetModule = () => require('./parquet') as typeof ParquetModule;

export type ParquetWriterUsed = 'bigquery' | 'worker';
/** where the rows came from: BigQuery's extract job, or `tabledata.list` read by the worker's Parquet writer */
export type RowSource = 'extract' | 'tabledata.list';

export interface BackupPlan {
  backup: string;
  project: string;
  dataset: string;
  tables: string[];
  views: string[];
  /** tables asked for that the dataset does not have */
  missing: string[];
  max_parallel: number;
  destination: string;
  format: string;
  compression: string;
}

export interface StagedFile {
  name: string;
  size: number;
}

export interface ExtractResult {
  table: string;
  staging_bucket: string;
  staging_prefix: string;
  files: StagedFile[];
  /** BigQuery's extract job (none when the worker read the rows with tabledata.list) */
  job_ids: string[];
  /** who wrote the Parquet files (undefined for other formats) */
  parquet_writer?: ParquetWriterUsed;
  row_source: RowSource;
  format: string;
  compression: string;
  schema: BqField[];
  row_count: number;
  bigquery_num_rows?: number;
  seconds: ExtractSeconds;
}

/**
 * Wall seconds: in BigQuery's extract job; reading the rows with tabledata.list (waiting for and
 * parsing the response) and in the worker's Parquet writer (converting, encoding, storing), which
 * interleave as the response streams in.
 */
export interface ExtractSeconds {
  extract: number;
  read: number;
  parquet_writer: number;
}

export interface BackupFile {
  /** at the destination (`<staged name><suffix>` when encrypted) */
  name: string;
  size: number;
  sha256: string;
  md5: string;
  /** encrypted backups (`backups.<name>.pgp`): the staged file that went in */
  plaintext?: { name: string; bytes: number; sha256: string };
}

export interface TransferTableResult {
  table: string;
  folder: string;
  location: string;
  files: BackupFile[];
  skipped: string[];
  bytes: number;
  /** encrypted backups: suffix, armor, the recipients' and signer's fingerprints */
  pgp?: BackupPgpSummary;
}

export interface BackupManifest {
  kind: 'bq-sftp-backup';
  version: 1;
  backup: string;
  project: string;
  dataset: string;
  table: string;
  date: string;
  format: string;
  compression: string;
  parquet_writer?: ParquetWriterUsed;
  /** 'tabledata.list': the worker read the rows (no extract job); 'extract': BigQuery's extract job wrote the files */
  row_source?: RowSource;
  schema: BqField[];
  row_count: number;
  bigquery_num_rows?: number;
  files: BackupFile[];
  bytes: number;
  /** encrypted backups: how (fingerprints only); each file has its `plaintext` */
  pgp?: BackupPgpSummary;
  job_ids: string[];
  seconds: ExtractSeconds;
  staging: string;
  workflow_id: string;
  run_id: string;
  created_at: string;
}

export interface FinishTableResult {
  manifest: string;
  staging_deleted: number;
  retention_removed: string[];
}

export interface VerifyTableResult {
  table: string;
  ok: boolean;
  manifest: boolean;
  row_count?: number;
  files: number;
  missing: string[];
  extra: string[];
  size_mismatches: { name: string; expected: number; actual: number }[];
  checksum_mismatches: { name: string; expected: string; actual: string }[];
  /** encrypted backups: files that did not decrypt, or whose signature did not verify */
  pgp_failures?: { name: string; type: string; message: string }[];
}

export interface BackupVerifyResult {
  backup: string;
  date: string;
  ok: boolean;
  location: string;
  tables: VerifyTableResult[];
}

export interface RestoreTableResult {
  table: string;
  to: string;
  rows_manifest: number;
  rows_restored: number;
  match: boolean;
  load_format: string;
  job_id: string;
}

export interface BackupRestoreResult {
  backup: string;
  date: string;
  to_dataset: string;
  ok: boolean;
  tables: RestoreTableResult[];
}

/**
 * Rows per Parquet row group of the worker's writer: what it holds in memory at once. Measured on
 * the 200,000-row demo table: 5,000 rows cost ~1 % more bytes than 10,000 and ~15 MB less peak RSS.
 */
const PARQUET_ROW_GROUP_ROWS = 5_000;

const EXT: Record<string, string> = { PARQUET: 'parquet', AVRO: 'avro', JSON: 'json', CSV: 'csv' };
const BQ_FORMAT: Record<string, string> = { PARQUET: 'PARQUET', AVRO: 'AVRO', JSON: 'NEWLINE_DELIMITED_JSON', CSV: 'CSV' };

/** Per worker process: whether a BigQuery service writes Parquet itself (the capability probe's answer). */
const nativeParquet = new Map<string, Promise<boolean>>();

/**
 * The capability probe: an `EXPORT DATA … format='PARQUET' AS SELECT 1` (no table read, a few
 * hundred bytes written and removed). A service that refuses the format (the emulator: "not yet
 * supported") gets the worker-side writer. Asked once per worker process and service.
 */
function bigQueryWritesParquet(deps: ActivityDeps, key: string, bucket: string): Promise<boolean> {
  let known = nativeParquet.get(key);
  if (!known) {
    known = (async () => {
      const prefix = `backup-staging/_probe/${Date.now()}-${process.pid}/`;
      try {
        const [job] = await deps.bigquery.createQueryJob({
          query: `EXPORT DATA OPTIONS(uri='gs://${bucket}/${prefix}probe-*.parquet', format='PARQUET', overwrite=true) AS SELECT 1 AS probe`,
          location: deps.config.bigquery?.location,
        });
        const [m] = await job.getMetadata();
        const err = (m as { status?: { errorResult?: { message?: string } } }).status?.errorResult;
        if (err) throw Object.assign(new Error(err.message ?? 'probe failed'), { errors: [err] });
        await job.promise?.().catch(() => undefined);
        return true;
      } catch (err) {
        const e = err as { message?: string; errors?: { message?: string }[] };
        const text = `${e.errors?.map((x) => x.message).join(' ') ?? ''} ${e.message ?? ''}`;
        if (/parquet/i.test(text) && /not (yet )?supported|unsupported|not support/i.test(text)) return false;
        nativeParquet.delete(key); // not an answer (e.g. unreachable): ask again next time
        throw err;
      } finally {
        await deletePrefix(deps.storage, bucket, prefix).catch(() => undefined);
      }
    })();
    nativeParquet.set(key, known);
  }
  return known;
}

export function getBackup(deps: ActivityDeps, name: string): BackupConfig {
  const b = (deps.config as { backups?: Record<string, BackupConfig> }).backups?.[name];
  if (!b) {
    const known = Object.keys((deps.config as { backups?: Record<string, BackupConfig> }).backups ?? {});
    throw permanentFailure('UnknownBackup', `no backup named "${name}" in the config (${known.length ? `known: ${known.join(', ')}` : 'none configured'})`);
  }
  return b;
}

function projectOf(deps: ActivityDeps, b: BackupConfig): string {
  const p = b.project_id ?? deps.config.bigquery?.project_id ?? deps.config.gcs.project_id;
  if (!p) throw permanentFailure('ConfigInvalid', 'set backups.<name>.project_id or bigquery.project_id');
  return p;
}

function vars(deps: ActivityDeps, backup: string, b: BackupConfig, table: string, date: string): PathVars {
  return { backup, project: projectOf(deps, b), dataset: b.dataset, table, date };
}

async function deletePrefix(storage: Storage, bucket: string, prefix: string): Promise<number> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix, autoPaginate: true });
  for (let i = 0; i < files.length; i += 32) await Promise.all(files.slice(i, i + 32).map((f) => f.delete({ ignoreNotFound: true })));
  return files.length;
}

/** Heartbeats `details()` every few seconds while `fn` runs, so a dead worker is noticed fast. */
async function withTicker<T>(every: number, details: () => unknown, fn: () => Promise<T>): Promise<T> {
  heartbeat(details());
  const t = setInterval(() => heartbeat(details()), every);
  try {
    return await fn();
  } finally {
    clearInterval(t);
  }
}

async function hashStream(source: Readable): Promise<{ bytes: number; sha256: string; md5: string }> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  for await (const chunk of source) {
    const b = chunk as Buffer;
    sha.update(b);
    md5.update(b);
    bytes += b.length;
  }
  return { bytes, sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

/**
 * An encrypted backup file read once: the encrypted bytes' sha256 and, decrypted on the way (our
 * signature checked when the backup was signed), the plaintext's bytes and sha256; or why it did
 * not decrypt (a PgpError: tampered, foreign signature, not ours).
 */
async function readEncrypted(
  dest: BackupDestination,
  folder: string,
  f: BackupFile,
  keys: PgpBackup.BackupReadKeys,
  signed: boolean,
): Promise<{ sha256: string; plaintext?: { bytes: number; sha256: string }; failure?: { type: string; message: string } }> {
  const source = await dest.read(folder, f.name);
  const encrypted = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _e, done) {
      encrypted.update(chunk);
      done(null, chunk);
    },
  });
  source.once('error', (e) => tap.destroy(e));
  // decryption that stops early destroys `tap`: release the destination's read (an SFTP session) too
  tap.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(tap);
  try {
    const p = await hashStream(decryptBackupFile(tap, keys, { fileName: dest.describe(joinRel(folder, f.name)), signed }));
    return { sha256: encrypted.digest('hex'), plaintext: { bytes: p.bytes, sha256: p.sha256 } };
  } catch (err) {
    if (!isPgpError(err)) throw err;
    // decryption stopped early: the encrypted bytes' checksum needs a read of its own
    const h = await hashStream(await dest.read(folder, f.name));
    return { sha256: h.sha256, failure: { type: err.type, message: err.message } };
  }
}

/**
 * `source` into a GCS object; when `source` fails (a file that does not decrypt fails at its end)
 * the upload is still ended normally and the object deleted: a destroyed simple upload leaves its
 * HTTP request waiting for the rest of the body forever (a socket per failure in the worker).
 */
async function uploadOrDiscard(source: Readable, file: File, signal: AbortSignal): Promise<void> {
  const upload = file.createWriteStream({ resumable: false, validation: false });
  const uploaded = new Promise<void>((resolve, reject) => upload.once('finish', resolve).once('error', reject));
  uploaded.catch(() => undefined);
  const abort = () => source.destroy(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
  signal.addEventListener('abort', abort, { once: true });
  let failure: unknown;
  try {
    for await (const chunk of source) {
      if (!upload.write(chunk)) await once(upload, 'drain');
    }
  } catch (err) {
    failure = err;
  } finally {
    signal.removeEventListener('abort', abort);
  }
  upload.end();
  await uploaded;
  if (failure !== undefined) {
    await file.delete({ ignoreNotFound: true }).catch(() => undefined);
    throw failure;
  }
}

async function readManifest(dest: BackupDestination, folder: string): Promise<BackupManifest | undefined> {
  const entries = await dest.list(folder);
  if (!entries.some((e) => e.name === MANIFEST_NAME && e.type === 'file')) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of await dest.read(folder, MANIFEST_NAME)) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as BackupManifest;
}

export function createBackupActivities(deps: ActivityDeps) {
  const every = () => deps.config.transfer.heartbeat_every_ms;

  /** The tables of the backup's dataset (views skipped; `tables` narrows it). */
  async function backupListTables(input: { backup: string; tables?: string[] }): Promise<BackupPlan> {
    const b = getBackup(deps, input.backup);
    const project = projectOf(deps, b);
    // OpenPGP keys checked before anything runs: an expired or unusable key fails the backup as ConfigInvalid naming the field
    const pgp = b.pgp;
    if (pgp) await withFailureMapping('OpenPGP', () => usableBackupKeys(deps.config, input.backup, pgp));
    const all = await withFailureMapping('BigQuery', () => listDatasetTables(deps.bigquery, project, b.dataset));
    const wanted = input.tables?.length ? input.tables : b.tables;
    const isTable = (t: { type: string }) => t.type === 'TABLE';
    const chosen = wanted ? all.filter((t) => wanted.includes(t.id)) : all;
    return {
      backup: input.backup,
      project,
      dataset: b.dataset,
      tables: chosen.filter(isTable).map((t) => t.id),
      views: chosen.filter((t) => !isTable(t)).map((t) => t.id),
      missing: wanted ? wanted.filter((w) => !all.some((t) => t.id === w)) : [],
      max_parallel: b.max_parallel_tables,
      destination: openDestination(deps, input.backup, b).label,
      format: b.format,
      compression: b.compression,
    };
  }

  /**
   * One table → files under its GCS staging prefix: BigQuery's own extract in the requested format
   * where the service can write it; for Parquet that it cannot write (probed once per worker), the
   * worker reads the rows with tabledata.list (no extract job) and writes Parquet with Snappy.
   * Every attempt starts from an empty staging prefix: a retry after a kill reads the table again.
   */
  async function backupExtractTable(input: { backup: string; date: string; table: string }): Promise<ExtractResult> {
    const b = getBackup(deps, input.backup);
    const date = parseRunDate(input.date);
    const project = projectOf(deps, b);
    const bucket = b.staging_bucket ?? deps.config.gcs.bucket;
    const prefix = stagingPrefix(input.backup, date, input.table);
    const signal = Context.current().cancellationSignal;
    const state = { step: 'metadata', rows: 0 };
    return withTicker(every(), () => state, async () => {
      const meta = await withFailureMapping('BigQuery', () => tableMetadata(deps.bigquery, project, b.dataset, input.table));
      // what an earlier attempt left (finished part files of a killed one) goes first
      await withFailureMapping('Cloud Storage', () => deletePrefix(deps.storage, bucket, prefix));
      const key = deps.config.bigquery?.api_endpoint ?? 'bigquery.googleapis.com';
      const jobPrefix = `bqsftp_backup_${input.backup}_${date.replace(/-/g, '')}_${input.table}_`.slice(0, 900);
      const ext = `${EXT[b.format]}${b.compression === 'GZIP' && b.format !== 'PARQUET' && b.format !== 'AVRO' ? '.gz' : ''}`;
      const jobIds: string[] = [];
      const seconds: ExtractSeconds = { extract: 0, read: 0, parquet_writer: 0 };
      let writer: ParquetWriterUsed | undefined;
      let rowCount = meta.numRows ?? 0;

      const tryNative =
        b.format !== 'PARQUET' ||
        b.parquet_writer === 'bigquery' ||
        (b.parquet_writer === 'auto' && (await withFailureMapping('BigQuery', () => bigQueryWritesParquet(deps, key, bucket))));
      if (tryNative) {
        state.step = 'extract';
        const t0 = Date.now();
        try {
          const job = await withFailureMapping('BigQuery', () =>
            runExtract(
              deps.bigquery,
              { projectId: project, dataset: b.dataset, table: input.table, uris: [`gs://${bucket}/${prefix}part-*.${ext}`], format: BQ_FORMAT[b.format], compression: b.compression, location: deps.config.bigquery?.location, jobPrefix },
              signal,
            ),
          );
          jobIds.push(job.jobId);
          if (b.format === 'PARQUET') writer = 'bigquery';
        } catch (err) {
          if (!isUnsupportedFormat(err)) throw err;
          if (b.format !== 'PARQUET' || b.parquet_writer !== 'auto') {
            throw permanentFailure(
              'FormatUnsupported',
              `BigQuery at ${key} cannot write ${b.format} (${(err as Error).message})` +
                (b.format === 'PARQUET' ? "; set parquet_writer to 'auto' or 'worker' to let the worker write Parquet" : '; the worker writes only Parquet itself: choose PARQUET, JSON or CSV'),
            );
          }
          nativeParquet.set(key, Promise.resolve(false));
          // a refused extract may still leave an empty object behind (the emulator does)
          await withFailureMapping('Cloud Storage', () => deletePrefix(deps.storage, bucket, prefix));
          log.info('BigQuery cannot write Parquet here; the worker reads the rows and writes Parquet', { endpoint: key });
        } finally {
          seconds.extract = Math.round(Date.now() - t0) / 1000;
        }
      }
      if (b.format === 'PARQUET' && !writer) {
        if (b.compression !== 'SNAPPY' && b.compression !== 'NONE') {
          throw permanentFailure('FormatUnsupported', `the worker's Parquet writer does Snappy or no compression, not ${b.compression}: set compression to SNAPPY`);
        }
        state.step = 'reading rows (tabledata.list) into the worker-side Parquet writer';
        const r = await readTableToParquet(deps.storage, deps.bigquery.dataset(b.dataset, { projectId: project }).table(input.table), {
          what: `${project}.${b.dataset}.${input.table}`,
          bucket,
          prefix,
          schema: meta.schema,
          numRows: meta.numRows,
          b,
          signal,
          onProgress: (rows) => (state.rows = rows),
        });
        rowCount = r.rows;
        seconds.read = r.seconds.read;
        seconds.parquet_writer = r.seconds.parquet_writer;
        writer = 'worker';
      }
      const [files] = await withFailureMapping('Cloud Storage', () => deps.storage.bucket(bucket).getFiles({ prefix, autoPaginate: true }));
      const staged = files
        .filter((f) => !f.name.endsWith('/') && !f.name.slice(prefix.length).includes('/'))
        .map((f) => ({ name: f.name.slice(prefix.length), size: Number(f.metadata.size ?? 0) }))
        .sort((x, y) => x.name.localeCompare(y.name));
      const rowSource: RowSource = writer === 'worker' ? 'tabledata.list' : 'extract';
      log.info('table staged', { table: input.table, files: staged.length, parquet_writer: writer, row_source: rowSource, rows: rowCount });
      return {
        table: input.table,
        staging_bucket: bucket,
        staging_prefix: prefix,
        files: staged,
        job_ids: jobIds,
        parquet_writer: writer,
        row_source: rowSource,
        format: b.format,
        compression: b.compression,
        schema: meta.schema,
        row_count: rowCount,
        bigquery_num_rows: meta.numRows,
        seconds,
      };
    });
  }

  /** Every staged file of one table → the destination folder: streamed, atomic, resumed from the heartbeat. */
  async function backupTransferTable(input: { backup: string; date: string; table: string; staging_bucket: string; staging_prefix: string }): Promise<TransferTableResult> {
    const b = getBackup(deps, input.backup);
    const date = parseRunDate(input.date);
    const dest = openDestination(deps, input.backup, b);
    const folder = renderBackupPath(b.path, vars(deps, input.backup, b, input.table, date));
    const signal = Context.current().cancellationSignal;
    const { transfer } = deps.config;
    const [objs] = await withFailureMapping('Cloud Storage', () => deps.storage.bucket(input.staging_bucket).getFiles({ prefix: input.staging_prefix, autoPaginate: true }));
    const objects = objs
      .filter((f) => !f.name.endsWith('/') && !f.name.slice(input.staging_prefix.length).includes('/'))
      .map((f) => ({
        file: f,
        name: f.name.slice(input.staging_prefix.length),
        size: Number(f.metadata.size ?? 0),
        md5: typeof f.metadata.md5Hash === 'string' ? Buffer.from(f.metadata.md5Hash, 'base64').toString('hex') : undefined,
        updated: typeof f.metadata.updated === 'string' ? new Date(f.metadata.updated) : undefined,
      }));
    if (objects.length === 0) throw ApplicationFailure.create({ type: 'StagingEmpty', message: `nothing under gs://${input.staging_bucket}/${input.staging_prefix}: the extract left no files` });
    // OpenPGP (backups.<name>.pgp): keys checked before a byte moves; each file goes out as <name><suffix>
    const pgpConfig = b.pgp;
    const pgp = pgpConfig ? await withFailureMapping('OpenPGP', () => usableBackupKeys(deps.config, input.backup, pgpConfig)) : undefined;
    const remoteName = (n: string) => (pgpConfig ? `${n}${pgpConfig.suffix}` : n);

    const previous = activityInfo().heartbeatDetails as { done?: Record<string, BackupFile> } | undefined;
    const progress = { done: {} as Record<string, BackupFile>, bytes_total: objects.reduce((n, o) => n + o.size, 0), bytes_done: 0 };
    const skipped: string[] = [];
    const svc = dest.kind === 'sftp' ? 'SFTP' : dest.kind === 'gcs' ? 'Cloud Storage (destination)' : 'Box';

    await withFailureMapping(svc, async () => {
      const listing = new Map((await dest.list(folder)).map((e) => [e.name, e] as [string, DestEntry]));
      const wanted = new Set(objects.map((o) => remoteName(o.name)));
      // A rerun leaves exactly this run's files: temp files of interrupted uploads, files an
      // earlier run wrote that this one does not have, and the old manifest (written last again).
      for (const [name, e] of listing) {
        if (e.type === 'file' && (dest.isTempName(name) || !wanted.has(name))) await dest.remove(folder, name);
      }
      for (const o of objects) {
        const prev = previous?.done?.[o.name];
        if (pgpConfig) {
          // encrypted: only the last attempt's heartbeat knows the encrypted size of this plaintext
          const there = listing.get(remoteName(o.name));
          if (there?.type !== 'file' || !prev || prev.name !== remoteName(o.name) || prev.size !== there.size || prev.plaintext?.bytes !== o.size) continue;
          progress.done[o.name] = prev;
          progress.bytes_done += o.size;
          skipped.push(o.name);
          continue;
        }
        const there = listing.get(o.name);
        if (there?.type !== 'file' || there.size !== o.size) continue;
        const sameSource =
          (prev && prev.size === o.size) ||
          (o.md5 && there.md5 === o.md5) ||
          (o.updated && there.mtime && Math.floor(there.mtime.getTime() / 1000) === Math.floor(o.updated.getTime() / 1000));
        if (!sameSource) continue;
        const file = prev ?? { name: o.name, ...(await hashStream(await dest.read(folder, o.name))) };
        progress.done[o.name] = { name: o.name, size: o.size, sha256: file.sha256, md5: file.md5 };
        progress.bytes_done += o.size;
        skipped.push(o.name);
      }
    });
    if (skipped.length) log.info('resuming backup transfer: files already at the destination', { table: input.table, skipped: skipped.length });

    let lastBeat = 0;
    const beat = (force = false) => {
      if (force || Date.now() - lastBeat > 1000) {
        lastBeat = Date.now();
        heartbeat(progress);
      }
    };
    beat(true);
    const ticker = setInterval(() => heartbeat(progress), transfer.heartbeat_every_ms);
    try {
      const todo = objects.filter((o) => !progress.done[o.name]);
      await runLimited(todo, transfer.concurrency, async (o) => {
        let inFile = 0;
        let sourceFailure: Error | undefined;
        const download = o.file.createReadStream({ validation: false });
        download.once('error', (e: Error) => (sourceFailure ??= e));
        const watchdog = watchForStall(download, transfer.stall_timeout_ms, o.file.name);
        const enc = pgp && pgpConfig ? encryptBackupFile(watchdog.source, pgp, pgpConfig, { size: o.size, fileName: o.name }) : undefined;
        try {
          const r = await dest.publish(folder, remoteName(o.name), enc?.stream ?? watchdog.source, {
            signal: AbortSignal.any([signal, watchdog.signal]),
            // encrypted: the destination sees the OpenPGP message; the plaintext is checked before publishing
            size: enc ? undefined : o.size,
            md5: enc ? undefined : o.md5,
            beforePublish: enc ? () => checkSourceRead(o.name, { size: o.size, md5: o.md5 }, enc.plaintext()) : undefined,
            mtime: o.updated,
            onProgress: (bytes) => {
              watchdog.acknowledged();
              progress.bytes_done += bytes - inFile;
              inFile = bytes;
              beat();
            },
          });
          progress.done[o.name] = {
            name: remoteName(o.name),
            size: r.bytes,
            sha256: r.sha256,
            md5: r.md5,
            ...(enc ? { plaintext: { name: o.name, bytes: enc.plaintext().bytes, sha256: enc.plaintext().sha256 } } : {}),
          };
          beat(true);
        } catch (err) {
          if (watchdog.signal.aborted && !signal.aborted) throw watchdog.signal.reason as Error;
          if (signal.aborted) throw err;
          throw toApplicationFailure(sourceFailure ?? err, sourceFailure ? 'Cloud Storage' : svc);
        } finally {
          watchdog.stop();
        }
      });
    } finally {
      clearInterval(ticker);
    }
    const files = objects.map((o) => progress.done[o.name]);
    return { table: input.table, folder, location: dest.describe(folder), files, skipped, bytes: progress.bytes_total, ...(pgp ? { pgp: pgp.summary } : {}) };
  }

  /** The manifest, written last; then the staging objects go and retention trims old backups. */
  async function backupFinishTable(input: {
    backup: string;
    date: string;
    extract: ExtractResult;
    transfer: TransferTableResult;
    workflow_id: string;
    run_id: string;
  }): Promise<FinishTableResult> {
    const b = getBackup(deps, input.backup);
    const date = parseRunDate(input.date);
    const dest = openDestination(deps, input.backup, b);
    const { extract: x, transfer: t } = input;
    const manifest: BackupManifest = {
      kind: 'bq-sftp-backup',
      version: 1,
      backup: input.backup,
      project: projectOf(deps, b),
      dataset: b.dataset,
      table: x.table,
      date,
      format: x.format,
      compression: x.compression,
      ...(x.parquet_writer ? { parquet_writer: x.parquet_writer } : {}),
      row_source: x.row_source,
      schema: x.schema,
      row_count: x.row_count,
      ...(x.bigquery_num_rows !== undefined ? { bigquery_num_rows: x.bigquery_num_rows } : {}),
      files: t.files,
      bytes: t.bytes,
      ...(t.pgp ? { pgp: t.pgp } : {}),
      job_ids: x.job_ids,
      seconds: x.seconds,
      staging: `gs://${x.staging_bucket}/${x.staging_prefix}`,
      workflow_id: input.workflow_id,
      run_id: input.run_id,
      created_at: new Date().toISOString(),
    };
    const body = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
    const svc = dest.kind === 'sftp' ? 'SFTP' : dest.kind === 'gcs' ? 'Cloud Storage (destination)' : 'Box';
    await withFailureMapping(svc, () =>
      dest.publish(t.folder, MANIFEST_NAME, Readable.from([body]), { signal: Context.current().cancellationSignal, size: body.length, onProgress: () => undefined }),
    );
    const stagingDeleted = b.delete_staging ? await withFailureMapping('Cloud Storage', () => deletePrefix(deps.storage, x.staging_bucket, x.staging_prefix)) : 0;

    const removed: string[] = [];
    if (b.retention) {
      const v = vars(deps, input.backup, b, x.table, date);
      const { folder, datePattern } = tableBackupsFolder(b.path, v);
      await withFailureMapping(svc, async () => {
        const dated = (await dest.list(folder)).filter((e) => e.type === 'dir' && datePattern.test(e.name)).map((e) => e.name).sort();
        for (const old of dated.slice(0, Math.max(0, dated.length - b.retention!))) {
          await dest.removeFolder(joinRel(folder, old));
          removed.push(folderDate(old));
        }
      });
      if (removed.length) log.info('retention removed old backups', { table: x.table, removed });
    }
    return { manifest: dest.describe(joinRel(t.folder, MANIFEST_NAME)), staging_deleted: stagingDeleted, retention_removed: removed };
  }

  /** Re-lists the destination and re-reads every file: names, sizes and sha256 against each table's manifest. */
  async function backupVerify(input: { backup: string; date: string; tables?: string[] }): Promise<BackupVerifyResult> {
    const b = getBackup(deps, input.backup);
    const date = parseRunDate(input.date);
    const dest = openDestination(deps, input.backup, b);
    const base = vars(deps, input.backup, b, '', date);
    const state = { table: '', file: '' };
    return withTicker(every(), () => state, () =>
      withFailureMapping(dest.kind === 'sftp' ? 'SFTP' : dest.kind, async () => {
        const tables = input.tables?.length ? input.tables : (await dest.list(tablesFolder(b.path, base))).filter((e) => e.type === 'dir').map((e) => e.name).sort();
        const out: VerifyTableResult[] = [];
        for (const table of tables) {
          state.table = table;
          const folder = renderBackupPath(b.path, { ...base, table });
          const r: VerifyTableResult = { table, ok: false, manifest: false, files: 0, missing: [], extra: [], size_mismatches: [], checksum_mismatches: [] };
          const listing = await dest.list(folder);
          if (listing.length === 0 && !input.tables?.length) continue; // no backup of this table on that date
          const manifest = await readManifest(dest, folder);
          if (!manifest) {
            r.missing.push(MANIFEST_NAME);
            out.push(r);
            continue;
          }
          r.manifest = true;
          r.row_count = manifest.row_count;
          r.files = manifest.files.length;
          const there = new Map(listing.filter((e) => e.type === 'file').map((e) => [e.name, e]));
          // an encrypted backup: each file is decrypted while it is read, our signature checked
          const keys = manifest.pgp ? await backupReadKeys(deps.config, input.backup, b.pgp) : undefined;
          if (keys) r.pgp_failures = [];
          for (const f of manifest.files) {
            const e = there.get(f.name);
            if (!e) {
              r.missing.push(f.name);
              continue;
            }
            if (e.size !== f.size) r.size_mismatches.push({ name: f.name, expected: f.size, actual: e.size });
            state.file = f.name;
            if (keys && f.plaintext) {
              const h = await readEncrypted(dest, folder, f, keys, Boolean(manifest.pgp?.signer));
              if (h.sha256 !== f.sha256) r.checksum_mismatches.push({ name: f.name, expected: f.sha256, actual: h.sha256 });
              if (h.failure) r.pgp_failures!.push({ name: f.name, ...h.failure });
              else if (h.plaintext?.sha256 !== f.plaintext.sha256) {
                r.checksum_mismatches.push({ name: f.name, expected: `plaintext sha256:${f.plaintext.sha256}`, actual: `plaintext sha256:${h.plaintext?.sha256}` });
              }
              continue;
            }
            const h = await hashStream(await dest.read(folder, f.name));
            if (h.sha256 !== f.sha256) r.checksum_mismatches.push({ name: f.name, expected: f.sha256, actual: h.sha256 });
          }
          r.extra = [...there.keys()].filter((n) => n !== MANIFEST_NAME && !manifest.files.some((f) => f.name === n));
          r.ok = !r.missing.length && !r.extra.length && !r.size_mismatches.length && !r.checksum_mismatches.length && !r.pgp_failures?.length;
          out.push(r);
        }
        return { backup: input.backup, date, ok: out.length > 0 && out.every((t) => t.ok), location: dest.describe(tablesFolder(b.path, base)), tables: out };
      }),
    );
  }

  /**
   * Loads a backup's files back into BigQuery (`<to_dataset>.<table>`, replaced) and compares the
   * row counts with the manifest. Files go through a GCS restore prefix unless they are in GCS already.
   */
  async function backupRestore(input: { backup: string; date: string; to_dataset: string; tables?: string[] }): Promise<BackupRestoreResult> {
    const b = getBackup(deps, input.backup);
    const date = parseRunDate(input.date);
    const dest = openDestination(deps, input.backup, b);
    const project = projectOf(deps, b);
    const base = vars(deps, input.backup, b, '', date);
    const signal = Context.current().cancellationSignal;
    const state = { table: '', step: '' };
    return withTicker(every(), () => state, async () => {
      const ds = deps.bigquery.dataset(input.to_dataset, { projectId: project });
      await withFailureMapping('BigQuery', async () => {
        const [exists] = await ds.exists();
        if (!exists) await ds.create();
      });
      const tables = input.tables?.length
        ? input.tables
        : (await withFailureMapping('destination', () => dest.list(tablesFolder(b.path, base)))).filter((e) => e.type === 'dir').map((e) => e.name).sort();
      const out: RestoreTableResult[] = [];
      for (const table of tables) {
        state.table = table;
        const folder = renderBackupPath(b.path, { ...base, table });
        const manifest = await withFailureMapping('destination', () => readManifest(dest, folder));
        if (!manifest) {
          if (input.tables?.length) throw permanentFailure('BackupNotFound', `no ${MANIFEST_NAME} in ${dest.describe(folder)}: no backup of ${table} on ${date}`);
          continue;
        }
        const bucket = b.staging_bucket ?? deps.config.gcs.bucket;
        const prefix = `backup-restore/${input.backup}/${date.replace(/-/g, '')}/${table}/`;
        state.step = 'copying files to GCS';
        await withFailureMapping('Cloud Storage', () => deletePrefix(deps.storage, bucket, prefix));
        // an encrypted backup goes to GCS decrypted (our signature checked): a file that fails is a permanent PgpError naming it
        const keys = manifest.pgp ? await withFailureMapping('OpenPGP', () => backupReadKeys(deps.config, input.backup, b.pgp)) : undefined;
        const staged = (f: BackupFile) => (keys && f.plaintext ? f.plaintext.name : f.name);
        for (const f of manifest.files) {
          await withFailureMapping('Cloud Storage', async () => {
            const read = await dest.read(folder, f.name);
            const source = keys && f.plaintext ? decryptBackupFile(read, keys, { fileName: dest.describe(joinRel(folder, f.name)), signed: Boolean(manifest.pgp?.signer) }) : read;
            await uploadOrDiscard(source, deps.storage.bucket(bucket).file(`${prefix}${staged(f)}`), signal);
          });
        }
        state.step = 'load job';
        const format = BQ_FORMAT[manifest.format];
        const load: Record<string, unknown> = {
          sourceUris: manifest.files.map((f) => `gs://${bucket}/${prefix}${staged(f)}`),
          destinationTable: { projectId: project, datasetId: input.to_dataset, tableId: table },
          sourceFormat: format,
          schema: { fields: manifest.schema },
          writeDisposition: 'WRITE_TRUNCATE',
          createDisposition: 'CREATE_IF_NEEDED',
        };
        if (format === 'CSV') load.skipLeadingRows = 1;
        const jobId = await withFailureMapping('BigQuery', async () => {
          let job;
          try {
            [job] = await deps.bigquery.createJob({ configuration: { load }, jobPrefix: `bqsftp_restore_${table}_` });
          } catch (err) {
            const code = (err as { code?: number }).code;
            // the service read the files and refused them: retrying the same files will not help
            if (code !== undefined && code >= 400 && code !== 429 && code !== 503) {
              throw permanentFailure('RestoreLoadFailed', `BigQuery refused to load the ${manifest.format} files of ${table} into ${input.to_dataset}.${table}: ${(err as Error).message}`);
            }
            throw err;
          }
          for (;;) {
            const [m] = await job.getMetadata();
            const st = (m as { status?: { state?: string; errorResult?: { message?: string } } }).status ?? {};
            if (st.state === 'DONE') {
              if (st.errorResult) throw permanentFailure('RestoreLoadFailed', `BigQuery refused to load ${manifest.format} into ${input.to_dataset}.${table}: ${st.errorResult.message}`);
              return job.id ?? '';
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        });
        state.step = 'counting rows';
        const rows = await withFailureMapping('BigQuery', async () => {
          const [res] = await deps.bigquery.query({ query: `SELECT COUNT(*) AS n FROM \`${project}.${input.to_dataset}.${table}\`` });
          return Number((res[0] as { n: number | string }).n);
        });
        await withFailureMapping('Cloud Storage', () => deletePrefix(deps.storage, bucket, prefix));
        out.push({ table, to: `${project}.${input.to_dataset}.${table}`, rows_manifest: manifest.row_count, rows_restored: rows, match: rows === manifest.row_count, load_format: format, job_id: jobId });
      }
      return { backup: input.backup, date, to_dataset: input.to_dataset, ok: out.length > 0 && out.every((t) => t.match), tables: out };
    });
  }

  return { backupListTables, backupExtractTable, backupTransferTable, backupFinishTable, backupVerify, backupRestore };
}

/**
 * The worker-side Parquet path: the table's rows read with tabledata.list (src/backup/table-read.ts)
 * into `part-NNNNN.parquet` objects under the staging prefix (a new one every rows_per_file rows).
 * A part is stored only once complete; when the read fails, the parts of this attempt are removed
 * (the next attempt reads the table again).
 */
async function readTableToParquet(
  storage: Storage,
  table: Table,
  a: { what: string; bucket: string; prefix: string; schema: BqField[]; numRows?: number; b: BackupConfig; signal: AbortSignal; onProgress: (rows: number) => void },
): Promise<TableToParquetResult> {
  // the writer's library loads while BigQuery prepares its answer (its first use, off the critical path)
  const preload = setTimeout(() => parquetModule(), 250);
  let storeFailure: unknown;
  const openPart = (index: number): ParquetPartSink => {
    const file = storage.bucket(a.bucket).file(`${a.prefix}part-${String(index).padStart(5, '0')}.parquet`);
    const out = file.createWriteStream({ resumable: false, validation: false, contentType: 'application/vnd.apache.parquet' });
    const stored = new Promise<void>((resolve, reject) => out.once('finish', resolve).once('error', reject));
    stored.catch(() => undefined);
    const write = parquetModule().writeWithBackpressure(out);
    const noted = <T>(p: Promise<T>) => p.catch((err: unknown) => Promise.reject((storeFailure ??= err)));
    return {
      write: (chunk) => noted(write(chunk)),
      end: () => noted((out.end(), stored)),
      // a simple upload never ended keeps its request open: end it, then delete what it stored
      discard: async () => {
        out.end();
        await stored.catch(() => undefined);
        await file.delete({ ignoreNotFound: true });
      },
    };
  };
  try {
    return await tableToParquet({
      table,
      newFile: (write) => {
        const { StreamingParquetFile, parquetCodec } = parquetModule();
        return new StreamingParquetFile(a.schema, write, { codec: parquetCodec(a.b.compression), rowGroupRows: PARQUET_ROW_GROUP_ROWS });
      },
      numRows: a.numRows,
      rowsPerFile: a.b.rows_per_file,
      openPart,
      signal: a.signal,
      onProgress: a.onProgress,
    });
  } catch (err) {
    await deletePrefix(storage, a.bucket, a.prefix).catch(() => undefined);
    if (a.signal.aborted) throw err;
    throw storeFailure !== undefined ? toApplicationFailure(storeFailure, 'Cloud Storage') : toApplicationFailure(notFoundIsPermanent(err, a.what), 'BigQuery (tabledata.list)');
  } finally {
    clearTimeout(preload);
  }
}
