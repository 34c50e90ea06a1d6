/**
 * `etlSave`: loads the run's three staged files into raw_users / processed_users / dlq_users in one
 * transaction that first deletes the run's rows (a retry or rerun replaces, never duplicates; a
 * killed attempt leaves the previous state), then publishes the three files to SFTP under the
 * pipeline's remote base, each written as `<name>.partial` and renamed into place with the
 * pipelined writer (as the export's transferFiles does). Heartbeats what is done, so a retried
 * attempt skips it.
 */
import { activityInfo, Context, heartbeat, log } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import type { SftpPool } from '../sftp';
import { toApplicationFailure, withFailureMapping } from '../activities/failures';
import { watchForStall } from '../activities/stall-watchdog';
import { gcsLines, getPipeline, recordId, remoteBase, etlSftp, stagedObjects } from './common';
import { openEtlDb, type DlqRow, type ProcessedRow, type RawRow, type RunSink } from './db';
import type { DeadLetter } from './transform';

export interface SaveInput {
  pipeline: string;
  stamp: string;
}

export interface PublishedFile {
  remote_path: string;
  bytes: number;
  sha256: string;
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

/** Streams one staged file into a table in batches. */
async function loadFile<T>(storage: Storage, bucket: string, name: string, toRow: (line: string, n: number) => T, insert: (rows: T[]) => Promise<void>): Promise<number> {
  let batch: T[] = [];
  let n = 0;
  for await (const line of gcsLines(storage, bucket, name)) {
    batch.push(toRow(line, ++n));
    if (batch.length >= BATCH) {
      await insert(batch);
      batch = [];
    }
  }
  if (batch.length) await insert(batch);
  return n;
}

// The id is usually the first key and the department code the last (enrichment appends it):
// read both off the line's ends instead of parsing 100,000 lines again; anything else is parsed.
const LEADING_ID = /^\{"id":(?:(\d+)|"((?:[^"\\]|\\.)*)")[,}]/;
const TRAILING_CODE = /,"department_code":(?:null|"([^"\\]*)")\}$/;

function leadingId(line: string): string | null {
  const m = LEADING_ID.exec(line);
  if (m) return m[1] ?? (JSON.parse(`"${m[2]}"`) as string);
  try {
    return recordId(JSON.parse(line));
  } catch {
    return null; // kept as text; transform dead-letters it
  }
}

function trailingCode(line: string): string | null | undefined {
  if (!LEADING_ID.test(line)) return undefined;
  const m = TRAILING_CODE.exec(line);
  return m ? (m[1] ?? null) : undefined;
}

export async function loadRunIntoDb(deps: { config: Config; storage: Storage }, pipeline: string, stamp: string): Promise<SaveResult['rows'] & { kind: 'sqlite' | 'postgres' }> {
  const p = getPipeline(deps.config, pipeline);
  const objects = stagedObjects(pipeline, p, stamp);
  const bucket = deps.config.gcs.bucket;
  const db = await openEtlDb(p.database, deps.config.etl.sqlite_path);
  try {
    const rows = { raw: 0, processed: 0, dlq: 0 };
    await db.loadRun(pipeline, stamp, { replace: true }, async (sink: RunSink) => {
      rows.raw = await loadFile<RawRow>(deps.storage, bucket, objects.raw, (line, n) => ({ line: n, id: leadingId(line), data: line }), sink.raw);
      rows.processed = await loadFile<ProcessedRow>(deps.storage, bucket, objects.processed, (line) => {
        const code = trailingCode(line);
        if (code !== undefined) return { id: leadingId(line) ?? '', data: line, department_code: code };
        const rec = JSON.parse(line) as Record<string, unknown>;
        const c = rec.department_code;
        return { id: recordId(rec) ?? '', data: line, department_code: typeof c === 'string' ? c : null };
      }, sink.processed);
      rows.dlq = await loadFile<DlqRow>(deps.storage, bucket, objects.dlq, (line) => {
        const d = JSON.parse(line) as DeadLetter;
        return { line: d.line, id: d.id, error_reason: d.error_reason, rule: d.rule, data: typeof d.record === 'string' ? d.record : JSON.stringify(d.record) };
      }, sink.dlq);
    });
    return { ...rows, kind: db.kind };
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
    try {
      heartbeat(progress);
      // the database load and the three uploads are independent: both at once
      const loadDb = async () => {
        if (progress.rows) {
          log.info('rows already loaded by an earlier attempt', { pipeline: input.pipeline, run: input.stamp });
          return;
        }
        const r = await withFailureMapping(kind === 'postgres' ? 'PostgreSQL' : 'SQLite', () => loadRunIntoDb(deps, input.pipeline, input.stamp));
        kind = r.kind;
        progress.rows = { raw: r.raw, processed: r.processed, dlq: r.dlq };
        heartbeat(progress);
      };

      const { endpoint, tempSuffix } = etlSftp(deps.config, p.sftp);
      const bucket = deps.storage.bucket(deps.config.gcs.bucket);
      const publish = async (object: string, rel: string): Promise<void> => {
        const remotePath = `${base}/${rel}`;
        if (progress.published.some((f) => f.remote_path === remotePath)) return;
        const dir = remotePath.slice(0, remotePath.lastIndexOf('/'));
        const name = remotePath.slice(remotePath.lastIndexOf('/') + 1);
        const [meta] = await withFailureMapping('Cloud Storage', () => bucket.file(object).getMetadata());
        const size = Number(meta.size);
        const published = await withFailureMapping('SFTP', () =>
          deps.sftpPool.withSession(endpoint, async (s) => {
            await s.mkdirp(dir);
            const download = bucket.file(object).createReadStream({ validation: false });
            const watchdog = watchForStall(download, deps.config.transfer.stall_timeout_ms, object);
            try {
              return await s.publishStream(watchdog.source, dir, name, {
                tempSuffix,
                signal: AbortSignal.any([signal, watchdog.signal]),
                hash: ['sha256'],
                onProgress: () => watchdog.acknowledged(),
                verify: ({ bytes }) => {
                  if (bytes !== size) throw new Error(`read ${bytes} bytes of gs://${deps.config.gcs.bucket}/${object} but it has ${size}; not published, retried`);
                },
              });
            } finally {
              watchdog.stop();
            }
          }),
        );
        progress.published.push({ remote_path: remotePath, bytes: published.bytes, sha256: published.hashes.sha256 });
        heartbeat(progress);
      };
      const results = await Promise.allSettled([
        loadDb(),
        publish(objects.raw, objects.relative.raw),
        publish(objects.processed, objects.relative.processed),
        publish(objects.dlq, objects.relative.dlq),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const order = [objects.relative.raw, objects.relative.processed, objects.relative.dlq].map((r) => `${base}/${r}`);
      progress.published.sort((a, b) => order.indexOf(a.remote_path) - order.indexOf(b.remote_path));
    } catch (err) {
      throw toApplicationFailure(err, 'SFTP');
    } finally {
      clearInterval(ticker);
    }
    return { database: kind, rows: progress.rows!, files: progress.published, destination: base };
  };
}
