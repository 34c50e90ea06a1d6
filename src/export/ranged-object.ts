/**
 * transferFiles' path for one large object: ranged reads from Cloud Storage written at their
 * offsets over several SFTP connections into one temp file, then one rename
 * (src/sftp/ranged-writer.ts). Used when nothing needs the bytes in order: no OpenPGP encryption
 * and no md5 of the whole file (`checksums`); those objects stream over one connection as before.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Config } from '../config';
import type { SftpEndpoint, SftpPool } from '../sftp';
import type { ObjectReader } from '../gcs/ranged-reader';
import { publishRanged } from '../sftp/ranged-writer';
import { toApplicationFailure } from '../activities/failures';
import type { SourceObject } from '../activities/gcs-listing';

/**
 * Objects from this size on go over several connections — off unless BQSFTP_RANGED_MIN_MIB is
 * set: on the 2-core bench machine the ranged path took 2.5× the CPU of one stream (8.5–10.2 s vs
 * 3.5–3.7 s for 1 GiB) and twice the time (31–32 s vs 13–17 s, load ~21); see README "Speed".
 */
export const RANGED_MIN_BYTES = process.env.BQSFTP_RANGED_MIN_MIB ? Number(process.env.BQSFTP_RANGED_MIN_MIB) * 1024 * 1024 : Infinity;
/** connections one object uses at most (fewer when the connection's limit is lower) */
export const RANGED_LANES = 4;
const PIECE_BYTES = 32 * 1024 * 1024;

export function useRanged(o: SourceObject, opts: { encrypted: boolean; checksums: boolean }): boolean {
  return !opts.encrypted && !opts.checksums && o.size >= RANGED_MIN_BYTES;
}

export interface RangedObjectArgs {
  pool: SftpPool;
  endpoint: SftpEndpoint;
  read: ObjectReader;
  bucket: string;
  object: SourceObject;
  destination: string;
  config: Config;
  mode: 'rename' | 'in_place';
  tempSuffix: string;
  signal: AbortSignal;
  onProgress: (bytes: number) => void;
}

/** Publishes the object; errors leave as ApplicationFailures naming the side that failed. */
export async function transferRangedObject(a: RangedObjectArgs): Promise<void> {
  const o = a.object;
  const { transfer } = a.config;
  let sourceFailure: Error | undefined;
  const seconds = Math.round(transfer.stall_timeout_ms / 1000);
  try {
    await publishRanged({
      size: o.size,
      openRange: (start, end) => {
        const s = a.read(a.bucket, o.objectName, { start, end });
        // a premature close is our own doing (another lane failed, or an abort), not the source's
        s.once('error', (e: Error & { code?: string }) => (e.code === 'ERR_STREAM_PREMATURE_CLOSE' ? undefined : (sourceFailure ??= e)));
        return s;
      },
      withSession: (fn) => a.pool.withSession(a.endpoint, fn),
      dir: a.destination,
      name: o.relativeName,
      mode: a.mode,
      tempSuffix: a.tempSuffix,
      lanes: Math.min(RANGED_LANES, a.endpoint.maxConnections ?? RANGED_LANES),
      pieceSize: PIECE_BYTES,
      chunkSize: transfer.chunk_size,
      concurrency: transfer.requests_in_flight,
      signal: a.signal,
      mtime: o.updated,
      onProgress: a.onProgress,
      stallTimeoutMs: transfer.stall_timeout_ms,
      stallError: (side) =>
        ApplicationFailure.create({
          type: 'TransferStalled',
          message:
            side === 'sftp'
              ? `SFTP acknowledged no write of "${o.objectName}" for ${seconds} s; the file was not published and is retried`
              : `Cloud Storage sent no data of "${o.objectName}" for ${seconds} s; the file was not published and is retried`,
        }),
      sizeMismatch: ({ start, end, bytes }) =>
        (sourceFailure = ApplicationFailure.create({
          type: 'SourceSizeMismatch',
          message: `Cloud Storage: read ${bytes} bytes of "${o.objectName}" bytes ${start}-${end} (the object has ${o.size}); not published, retried`,
        })),
    });
  } catch (err) {
    if (err instanceof ApplicationFailure || a.signal.aborted) throw err;
    throw toApplicationFailure(sourceFailure ?? err, sourceFailure ? 'Cloud Storage' : 'SFTP');
  }
}
