import { activityInfo, ApplicationFailure, Context, heartbeat, log } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { getExport, parseRunDate, sftpConnection } from '../config';
import { assertSafeName, type RemoteEntry, type SftpPool } from '../sftp';
import { runFileStem } from './naming';
import { listSourceObjects, type SourceObject } from '../activities/gcs-listing';
import { permanentFailure, toApplicationFailure, withFailureMapping } from '../activities/failures';
import { runLimited } from '../activities/run-limited';
import { sftpEndpointFor } from '../activities/sftp-endpoint';
import { markerNames, writeCompletionMarkers } from './completion-markers';
import { watchForStall } from '../activities/stall-watchdog';
import { objectReaderFor } from '../gcs/ranged-reader';
import { transferRangedObject, useRanged } from './ranged-object';
import { sampleOf, FILE_SAMPLE } from './history-limits';
import type * as PgpDelivery from '../pgp/delivery';
import type { PgpFileRecord, PgpSummary } from '../pgp/delivery';
import { lazyFunctions } from '../activities/lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadPgpRecord, pgpDeliveryFor } = lazyFunctions(() => require('../pgp/delivery') as typeof PgpDelivery, ['loadPgpRecord', 'pgpDeliveryFor']);

export interface TransferInput {
  exportName: string;
  date: string;
  gcsPath: string;
}

/** The seed's `/transfer` response, plus what a resumed attempt skipped. */
export interface TransferSummary {
  status: 'success';
  export_name: string;
  files_transferred: number;
  files: string[];
  files_skipped: string[];
  total_mb: number;
  total_bytes: number;
  destination: string;
  /** the SFTP connection's name (never its credentials) */
  connection?: string;
  /** every file of the run; `files` and `files_skipped` hold at most FILE_SAMPLE names (history size) */
  files_count: number;
  files_skipped_count: number;
  /** true when `files`, `files_skipped` or `checksums` hold only a sample */
  truncated: boolean;
  /** where the full list lives: the manifest on SFTP when written, else every object under gcs_path */
  full_list: string;
  total_time_seconds: number;
  gcs_path: string;
  checksums?: Record<string, string>;
  /** OpenPGP delivery (exports.<name>.pgp): per file the encrypted name/size/sha256 beside the plaintext's */
  pgp?: PgpSummary;
}

/** Heartbeat details: what a retried attempt may skip. */
export interface TransferProgress {
  done: Record<string, number>;
  files_total: number;
  bytes_total: number;
  bytes_done: number;
  /** OpenPGP deliveries: what each finished file became (src/pgp/delivery.ts) */
  pgp?: Record<string, PgpFileRecord>;
}

const MIB = 1024 * 1024;

function refuseUnsafeNames(objects: SourceObject[]): void {
  for (const o of objects) {
    try {
      assertSafeName(o.relativeName);
    } catch {
      throw permanentFailure(
        'UnsafeObjectName',
        `GCS object "${o.objectName}" would be written to SFTP as "${o.relativeName}", which is not a plain file name ` +
          '(path separators, "..", NUL or control characters). Nothing was transferred; rename or remove the object.',
      );
    }
  }
}

/**
 * rsync's quick check: a file under the final name with the object's size and, as its mtime,
 * the object's update time was published from this object (files are renamed into place only
 * when complete, and get that mtime just before). A heartbeat that recorded the file also counts.
 */
function alreadyPublished(o: SourceObject, remote: RemoteEntry | undefined, previous: TransferProgress | undefined): boolean {
  if (remote?.type !== 'file' || remote.size !== o.size) return false;
  if (previous?.done[o.relativeName] === o.size) return true;
  return o.updated !== undefined && Math.floor(remote.mtime.getTime() / 1000) === Math.floor(o.updated.getTime() / 1000);
}

export function createTransferFiles(deps: { config: Config; storage: Storage; sftpPool: SftpPool }) {
  return async function transferFiles(input: TransferInput): Promise<TransferSummary> {
    // Liveness from the first moment: listing 100,000 objects (GCS, then SFTP) and removing stale
    // files take longer than the 20 s heartbeat timeout. Until this attempt has progress of its own,
    // the earlier attempt's details are sent again, so a retry can still skip what was done.
    const liveness: { details?: TransferProgress } = { details: activityInfo().heartbeatDetails as TransferProgress | undefined };
    heartbeat(liveness.details);
    const ticker = setInterval(() => heartbeat(liveness.details), deps.config.transfer.heartbeat_every_ms);
    try {
      return await transferRun(input, liveness);
    } finally {
      clearInterval(ticker);
    }
  };

  async function transferRun(input: TransferInput, liveness: { details?: TransferProgress }): Promise<TransferSummary> {
    const started = Date.now();
    const exp = getExport(deps.config, input.exportName);
    const date = parseRunDate(input.date);
    const { transfer } = deps.config;
    const sftp = sftpConnection(deps.config, exp.sftp);
    const destination = exp.destination;
    const endpoint = sftpEndpointFor(deps.config, exp.sftp);
    const signal = Context.current().cancellationSignal;

    const { bucket, objects } = await withFailureMapping('Cloud Storage', () => listSourceObjects(deps.storage, input.gcsPath));
    refuseUnsafeNames(objects);

    const previous = activityInfo().heartbeatDetails as TransferProgress | undefined;
    const progress: TransferProgress = {
      done: {},
      files_total: objects.length,
      bytes_total: objects.reduce((n, o) => n + o.size, 0),
      bytes_done: 0,
    };
    // OpenPGP (exports.<name>.pgp): keys checked before a byte moves; each file goes out as <name><suffix>
    const pgp = await withFailureMapping('OpenPGP', () =>
      pgpDeliveryFor(deps.config, input.exportName, input.date, previous?.pgp, () => loadPgpRecord(deps.storage, bucket, input.exportName, input.date)),
    );
    if (pgp) progress.pgp = pgp.records;
    const remoteName = (o: SourceObject) => pgp?.remoteName(o.relativeName) ?? o.relativeName;

    const stem = runFileStem(exp.file_prefix ?? input.exportName, date);
    const tempSuffix = sftp.temp_suffix;
    const skipped: string[] = [];
    await withFailureMapping('SFTP', () =>
      deps.sftpPool.withSession(endpoint, async (s) => {
        await s.mkdirp(destination);
        const listing = new Map((await s.list(destination)).map((e) => [e.name, e]));
        for (const o of objects) {
          const published = pgp ? pgp.alreadyPublished(o, listing.get(remoteName(o)), previous?.done) : alreadyPublished(o, listing.get(o.relativeName), previous);
          if (sftp.publish_mode === 'rename' && published) {
            progress.done[o.relativeName] = o.size;
            progress.bytes_done += o.size;
            skipped.push(o.relativeName);
          }
        }
        // Files of this export and date that the current GCS output no longer has (an earlier,
        // larger run) and temp files of interrupted uploads: a rerun must leave exactly this run.
        const wanted = new Set(objects.map(remoteName));
        for (const name of listing.keys()) {
          const stale = name.startsWith(stem) && !wanted.has(name) && !name.endsWith('.done') && !name.endsWith('_MANIFEST.json');
          if (stale) await s.remove(`${destination}/${name}`);
        }
      }),
    );
    if (skipped.length) log.info('resuming transfer: skipping files already published', { skipped: skipped.length });

    let lastBeat = 0;
    const beat = (force = false) => {
      const now = Date.now();
      if (force || now - lastBeat > 1000) {
        lastBeat = now;
        heartbeat(progress);
      }
    };
    beat(true);
    // Liveness even while no byte moves (a slow first byte), so the heartbeat timeout can stay short
    // and a killed worker's attempt is retried within seconds.
    liveness.details = progress;

    const checksums: Record<string, string> = {};
    const todo = objects.filter((o) => progress.done[o.relativeName] === undefined);
    const read = objectReaderFor(deps.storage);
    try {
      await withFailureMapping('SFTP', () =>
        runLimited(todo, transfer.concurrency, async (o) => {
          let inFile = 0;
          const onRangedProgress = (bytes: number) => ((progress.bytes_done += bytes - inFile), (inFile = bytes), beat());
          // a large object goes over several connections at once (ranged reads and writes), issue 20
          if (useRanged(o, { encrypted: Boolean(pgp), checksums: Boolean(exp.checksums) })) {
            await transferRangedObject({ pool: deps.sftpPool, endpoint, read, bucket, object: o, destination, config: deps.config, mode: sftp.publish_mode, tempSuffix, signal, onProgress: onRangedProgress });
          } else await deps.sftpPool.withSession(endpoint, async (s) => {
            // The client's own validation hashes in JavaScript (5× slower than the transfer);
            // the size (always) and md5 (on request, natively) are checked before the rename.
            const download = read(bucket, o.objectName);
            const gcsMd5 = o.md5 ? Buffer.from(o.md5, 'base64').toString('hex') : undefined;
            // What went wrong on the reading side must name Cloud Storage, not the SFTP server.
            let sourceFailure: Error | undefined;
            download.once('error', (e: Error) => (sourceFailure ??= e));
            const watchdog = watchForStall(download, transfer.stall_timeout_ms, o.objectName);
            const enc = pgp?.encrypt(watchdog.source, o);
            await s.publishStream(enc?.stream ?? watchdog.source, destination, remoteName(o), {
              tempSuffix,
              mode: sftp.publish_mode,
              signal: AbortSignal.any([signal, watchdog.signal]),
              hash: exp.checksums ? [pgp ? 'sha256' : 'md5'] : [],
              mtime: o.updated,
              chunkSize: transfer.chunk_size,
              concurrency: transfer.requests_in_flight,
              onProgress: (bytes) => {
                watchdog.acknowledged();
                progress.bytes_done += bytes - inFile;
                inFile = bytes;
                beat();
              },
              verify: ({ bytes, hashes }) => {
                const written = { bytes, sha256: hashes.sha256 ?? '' };
                // encrypted: the size and md5 checks are about the plaintext read from GCS, measured while streaming
                const plain = enc?.plaintext();
                if (plain) [bytes, hashes] = [plain.bytes, plain.md5 ? { md5: plain.md5 } : {}];
                if (bytes !== o.size) {
                  throw (sourceFailure = ApplicationFailure.create({
                    type: 'SourceSizeMismatch',
                    message: `Cloud Storage: read ${bytes} bytes of "${o.objectName}" but the object has ${o.size}; not published, retried`,
                  }));
                }
                if (hashes.md5 && gcsMd5 && hashes.md5 !== gcsMd5) {
                  throw (sourceFailure = ApplicationFailure.create({
                    type: 'SourceChecksumMismatch',
                    message: `Cloud Storage: md5 ${hashes.md5} of the bytes read from "${o.objectName}" differs from the object's ${gcsMd5}; not published, retried`,
                  }));
                }
                if (hashes.md5) checksums[o.relativeName] = hashes.md5;
                if (enc) pgp?.published(o, enc, written);
              },
            })
              .catch((err: unknown) => {
                // A stall or a cancellation destroys the download too: its own error is a consequence then.
                if (watchdog.signal.aborted || signal.aborted) throw err;
                throw sourceFailure ? toApplicationFailure(sourceFailure, 'Cloud Storage') : err;
              })
              .finally(() => watchdog.stop());
          });
          progress.done[o.relativeName] = o.size;
          beat(true);
        }),
      );
    } finally {
      liveness.details = progress;
    }

    if (pgp) await withFailureMapping('Cloud Storage', () => pgp.save(deps.storage, bucket, input.gcsPath, objects));
    if (exp.manifest || exp.done_file) {
      await withFailureMapping('SFTP', () =>
        deps.sftpPool.withSession(endpoint, (s) =>
          writeCompletionMarkers(s, { destination, stem, objects, checksums, manifest: exp.manifest, doneFile: exp.done_file, exportName: input.exportName, date, files: pgp?.manifestFiles(objects, checksums) }),
        ),
      );
    }

    const files = objects.map((o) => o.relativeName);
    const checksumNames = Object.keys(checksums);
    const markers = markerNames(stem);
    return {
      status: 'success',
      export_name: input.exportName,
      connection: exp.sftp,
      files_transferred: files.length - skipped.length,
      // at 100,000 files the names alone are megabytes in one history event: counts and a sample
      files: sampleOf(files),
      files_count: files.length,
      files_skipped: sampleOf(skipped),
      files_skipped_count: skipped.length,
      truncated: files.length > FILE_SAMPLE || skipped.length > FILE_SAMPLE,
      full_list: exp.manifest ? `sftp:${destination.replace(/\/$/, '')}/${markers.manifest}` : input.gcsPath,
      total_mb: Math.round((progress.bytes_total / MIB) * 100) / 100,
      total_bytes: progress.bytes_total,
      destination: destination.endsWith('/') ? destination : `${destination}/`,
      total_time_seconds: Math.round((Date.now() - started) / 100) / 10,
      gcs_path: input.gcsPath,
      ...(exp.checksums ? { checksums: Object.fromEntries(sampleOf(checksumNames).map((n) => [n, checksums[n]])) } : {}),
      ...(pgp ? { pgp: pgp.summary(objects) } : {}),
    };
  }
}
