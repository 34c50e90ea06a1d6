/**
 * `etlSave`: loads the run's three staged files into raw_users / processed_users / dlq_users in one
 * transaction that first deletes the run's rows (a retry or rerun replaces, never duplicates; a
 * killed attempt leaves the previous state) and publishes the three files to SFTP under the
 * pipeline's remote base, each written as `<name>.partial` and renamed into place with the
 * pipelined writer (as the export's transferFiles does). Each file is read from GCS once: its
 * bytes go to SFTP and, on the way, its lines into the open transaction; the transaction commits
 * after the third file. Heartbeats what is done (rows committed, files published), so a retried
 * attempt skips it: a file already published is only read into the database, and once the rows
 * are in, only the files still missing are published.
 */
import { Transform, Writable, pipeline as pipe } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { activityInfo, Context, heartbeat, log } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import type { SftpPool } from '../sftp';
import { toApplicationFailure, withFailureMapping } from '../activities/failures';
import { watchForStall } from '../activities/stall-watchdog';
import { getPipeline, remoteBase, etlSftp, stagedObjects } from './common';
import type * as PgpDelivery from '../pgp/delivery';
import type * as PgpKeys from '../pgp/keys';
import type { DeliveryKeys } from '../pgp/keys';
import { lazyFunctions } from '../activities/lazy';
/* eslint-disable @typescript-eslint/no-require-imports */
const { encryptDelivery } = lazyFunctions(() => require('../pgp/delivery') as typeof PgpDelivery, ['encryptDelivery']);
const { usableDeliveryKeys } = lazyFunctions(() => require('../pgp/keys') as typeof PgpKeys, ['usableDeliveryKeys']);
/* eslint-enable @typescript-eslint/no-require-imports */
import { openEtlDb, type DlqRow, type ProcessedRow, type RawRow, type RunSink, type TableCounts } from './db';
import { RowSplitter, type Row, type RowKind } from './rows';

export interface SaveInput {
  pipeline: string;
  stamp: string;
  /** the rows the extract committed on the way (SQLite); checked against the database, not reloaded */
  rows_loaded?: TableCounts;
}

export interface PublishedFile {
  remote_path: string;
  bytes: number;
  sha256: string;
  /** with the pipeline's `pgp` block: what went in (the SFTP file is the OpenPGP message of it) */
  plaintext?: { bytes: number; sha256: string };
}

export interface SaveResult {
  database: 'sqlite' | 'postgres';
  rows: { raw: number; processed: number; dlq: number };
  files: PublishedFile[];
  destination: string;
}

export interface SaveProgress {
  rows?: SaveResult['rows'];
  published: PublishedFile[];
}

const BATCH = 2000;

type Kind = RowKind;

function insertInto(sink: RunSink, kind: Kind): (rows: Row[]) => Promise<void> {
  return (rows) => (kind === 'raw' ? sink.raw(rows as RawRow[]) : kind === 'processed' ? sink.processed(rows as ProcessedRow[]) : sink.dlq(rows as DlqRow[]));
}

/**
 * A pass-through that also turns the bytes into rows of `kind`, inserted in batches as they go by
 * (a batch holds the stream until it is in: the database sets the pace, like the SFTP writer).
 */
class RowTap extends Transform {
  private splitter: RowSplitter;
  private batch: Row[] = [];
  constructor(
    kind: Kind,
    private readonly insert: (rows: Row[]) => Promise<void>,
    private readonly onDbError: (err: unknown) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.splitter = new RowSplitter(kind);
  }
  get lines(): number {
    return this.splitter.lines;
  }
  private send(cb: () => void, fail: (err: Error) => void): void {
    const rows = this.batch;
    this.batch = [];
    this.insert(rows).then(cb, (err: unknown) => (this.onDbError(err), fail(err as Error)));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    try {
      this.splitter.push(chunk, this.batch);
    } catch (err) {
      this.onDbError(err);
      return done(err as Error);
    }
    if (this.batch.length >= BATCH) this.send(() => done(null, chunk), done);
    else done(null, chunk);
  }
  override _flush(done: (err?: Error | null) => void): void {
    try {
      this.splitter.end(this.batch);
    } catch (err) {
      this.onDbError(err);
      return done(err as Error);
    }
    this.send(() => done(), done);
  }
}

/** Streams the run's three staged files into the database (one transaction; no SFTP). */
export async function loadRunIntoDb(deps: { config: Config; storage: Storage }, pipeline: string, stamp: string): Promise<SaveResult['rows'] & { kind: 'sqlite' | 'postgres' }> {
  const p = getPipeline(deps.config, pipeline);
  const objects = stagedObjects(pipeline, p, stamp);
  const bucket = deps.config.gcs.bucket;
  const db = await openEtlDb(p.database, deps.config.etl.sqlite_path);
  try {
    const rows = { raw: 0, processed: 0, dlq: 0 };
    await db.loadRun(pipeline, stamp, { replace: true }, async (sink: RunSink) => {
      for (const kind of ['raw', 'processed', 'dlq'] as const) {
        let dbError: unknown;
        const tap = new RowTap(kind, insertInto(sink, kind), (e) => (dbError ??= e));
        try {
          await streamPipeline(deps.storage.bucket(bucket).file(objects[kind]).createReadStream({ validation: false }), tap, new Writable({ write: (_c, _e, cb) => cb() }));
        } catch (err) {
          throw dbError ?? err;
        }
        rows[kind] = tap.lines;
      }
    });
    return { ...rows, kind: db.kind };
  } finally {
    await db.close();
  }
}

/**
 * The rows the extract says it committed, when the database holds exactly those for the run;
 * otherwise (rows removed or added since) undefined, and the save loads the run again.
 */
export async function loadedByExtract(database: Parameters<typeof openEtlDb>[0], defaultSqlite: string, input: SaveInput, onKind: (k: 'sqlite' | 'postgres') => void): Promise<SaveResult['rows'] | undefined> {
  const expected = input.rows_loaded!;
  const db = await withFailureMapping(database.postgres_url ? 'PostgreSQL' : 'SQLite', () => openEtlDb(database, defaultSqlite));
  onKind(db.kind);
  try {
    const found = await db.counts(input.pipeline, input.stamp);
    if (found.raw === expected.raw && found.processed === expected.processed && found.dlq === expected.dlq) return expected;
    log.warn('the rows loaded during the extract are not all in the database any more; loading the run again', { pipeline: input.pipeline, run: input.stamp, expected, found });
    return undefined;
  } finally {
    await db.close();
  }
}

export function createEtlSave(deps: { config: Config; storage: Storage; sftpPool: SftpPool }) {
  return async function etlSave(input: SaveInput): Promise<SaveResult> {
    const p = getPipeline(deps.config, input.pipeline);
    const objects = stagedObjects(input.pipeline, p, input.stamp);
    const previous = activityInfo().heartbeatDetails as SaveProgress | undefined;
    const progress: SaveProgress = { rows: previous?.rows, published: [...(previous?.published ?? [])] };
    const ticker = setInterval(() => heartbeat(progress), 3000);
    const signal = Context.current().cancellationSignal;
    const base = remoteBase(deps.config, input.pipeline, p);
    let kind: 'sqlite' | 'postgres' = p.database.postgres_url ? 'postgres' : 'sqlite';
    const dbService = () => (kind === 'postgres' ? 'PostgreSQL' : 'SQLite');
    try {
      heartbeat(progress);
      const { endpoint, tempSuffix } = etlSftp(deps.config, p.sftp);
      const bucket = deps.storage.bucket(deps.config.gcs.bucket);
      const files: [Kind, string, string][] = [
        ['raw', objects.raw, objects.relative.raw],
        ['processed', objects.processed, objects.relative.processed],
        ['dlq', objects.dlq, objects.relative.dlq],
      ];
      // OpenPGP (etl.pipelines.<name>.pgp): keys checked before a byte moves; each file goes out as <name><suffix>
      const pgp = p.pgp;
      const keys: DeliveryKeys | undefined = pgp
        ? await withFailureMapping('OpenPGP', () => usableDeliveryKeys(deps.config, input.pipeline, pgp, new Date(), `etl.pipelines.${input.pipeline}.pgp`))
        : undefined;
      const remoteOf = (rel: string) => `${base}/${rel}${pgp ? pgp.suffix : ''}`;
      const isPublished = (rel: string) => progress.published.some((f) => f.remote_path === remoteOf(rel));

      /** One staged file to SFTP; with `tap`, its lines go into the database on the way (one read for both). */
      const publish = async (object: string, rel: string, tap?: Transform): Promise<void> => {
        const remotePath = remoteOf(rel);
        const dir = remotePath.slice(0, remotePath.lastIndexOf('/'));
        const name = remotePath.slice(remotePath.lastIndexOf('/') + 1);
        const [meta] = await withFailureMapping('Cloud Storage', () => bucket.file(object).getMetadata());
        const size = Number(meta.size);
        const published = await withFailureMapping('SFTP', () =>
          deps.sftpPool.withSession(endpoint, async (s) => {
            await s.mkdirp(dir);
            const download = bucket.file(object).createReadStream({ validation: false });
            const watchdog = watchForStall(download, deps.config.transfer.stall_timeout_ms, object);
            const source = tap ? pipe(watchdog.source, tap, () => undefined) : watchdog.source;
            const enc = pgp && keys ? encryptDelivery(source, keys, pgp, { size, fileName: rel.slice(rel.lastIndexOf('/') + 1) }) : undefined;
            try {
              const r = await s.publishStream(enc?.stream ?? source, dir, name, {
                tempSuffix,
                signal: AbortSignal.any([signal, watchdog.signal]),
                hash: ['sha256'],
                onProgress: () => watchdog.acknowledged(),
                verify: ({ bytes }) => {
                  // encrypted: the size check is about the plaintext read from GCS
                  const read = enc ? enc.plaintext().bytes : bytes;
                  if (read !== size) throw new Error(`read ${read} bytes of gs://${deps.config.gcs.bucket}/${object} but it has ${size}; not published, retried`);
                },
              });
              return { ...r, plaintext: enc ? (({ bytes, sha256 }) => ({ bytes, sha256 }))(enc.plaintext()) : undefined };
            } finally {
              watchdog.stop();
            }
          }),
        );
        progress.published.push({ remote_path: remotePath, bytes: published.bytes, sha256: published.hashes.sha256, ...(published.plaintext ? { plaintext: published.plaintext } : {}) });
        heartbeat(progress);
      };

      if (!progress.rows && input.rows_loaded) progress.rows = await loadedByExtract(p.database, deps.config.etl.sqlite_path, input, (k) => (kind = k));
      if (progress.rows) {
        log.info('rows already loaded', { pipeline: input.pipeline, run: input.stamp });
        // the three files side by side, each on a pooled session of its own (round trips overlap)
        // (all settled before a failure is thrown: a retry must not meet a publish still writing)
        const settled = await Promise.allSettled(files.filter(([, , rel]) => !isPublished(rel)).map(([, object, rel]) => publish(object, rel)));
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } else {
        // each file is read once: to SFTP and, on the way, into the run's one transaction
        const db = await withFailureMapping(dbService(), () => openEtlDb(p.database, deps.config.etl.sqlite_path));
        kind = db.kind;
        try {
          const rows = { raw: 0, processed: 0, dlq: 0 };
          await db.loadRun(input.pipeline, input.stamp, { replace: true }, async (sink) => {
            for (const [k, object, rel] of files) {
              let dbError: unknown;
              const tap = new RowTap(k, insertInto(sink, k), (e) => (dbError ??= e));
              try {
                if (isPublished(rel)) await streamPipeline(bucket.file(object).createReadStream({ validation: false }), tap, new Writable({ write: (_c, _e, cb) => cb() }));
                else await publish(object, rel, tap);
              } catch (err) {
                throw dbError !== undefined ? toApplicationFailure(dbError, dbService()) : err;
              }
              rows[k] = tap.lines;
            }
          }).catch((err: unknown) => {
            throw toApplicationFailure(err, dbService());
          });
          progress.rows = rows;
          heartbeat(progress);
        } finally {
          await db.close();
        }
      }
      const order = files.map(([, , rel]) => remoteOf(rel));
      progress.published.sort((a, b) => order.indexOf(a.remote_path) - order.indexOf(b.remote_path));
    } catch (err) {
      throw toApplicationFailure(err, 'SFTP');
    } finally {
      clearInterval(ticker);
    }
    return { database: kind, rows: progress.rows!, files: progress.published, destination: base };
  };
}
