/**
 * Publishes one large object over several SFTP connections at once.
 *
 * One connection moves one file at the speed of one `sshd` process (decrypt, then write) and one
 * download; a big object alone therefore leaves the second core idle. Here the object is cut into
 * pieces; `lanes` connections each take the next piece, read it from the source with a ranged
 * request and write it at its offset into one remote `<name><tempSuffix>` file (pipelined WRITEs),
 * until none is left. Once every piece is in, the file gets its mtime and is renamed over `<name>`
 * (one atomic rename, as for a streamed file), so a reader never sees a partial file. On any
 * error or abort the other lanes stop and the temp file is removed.
 *
 * A lane asks the pool for its connection like any other transfer and takes pieces only while it
 * has one, so lanes never wait on each other: with a busy pool the file simply gets fewer lanes.
 */
import { Readable, Transform, pipeline } from 'node:stream';
import type { SftpSession } from './session';
import { joinRemote, assertSafeName } from './paths';
import { SftpError } from './errors';

export interface RangedPublishOptions {
  /** the object's size in bytes */
  size: number;
  /** opens the source's bytes `start`..`end` (inclusive) */
  openRange: (start: number, end: number) => Readable;
  /** runs `fn` with a pooled connection (the caller's pool and endpoint) */
  withSession: <T>(fn: (s: SftpSession) => Promise<T>) => Promise<T>;
  dir: string;
  name: string;
  /** `rename` (default): write `<name><tempSuffix>`, then rename; `in_place`: write `<name>` */
  mode?: 'rename' | 'in_place';
  tempSuffix?: string;
  /** connections used at once (default 4) */
  lanes?: number;
  /** bytes per piece (default 32 MiB) */
  pieceSize?: number;
  chunkSize?: number;
  /** WRITE requests in flight per lane */
  concurrency?: number;
  signal?: AbortSignal;
  /** acknowledged bytes so far, all lanes together */
  onProgress?: (bytes: number) => void;
  /** no byte read and no write acknowledged for this long fails the file with `stallError` */
  stallTimeoutMs?: number;
  /** the error of a stall: `source` when the lanes waited for data, `sftp` when for acknowledgements */
  stallError?: (side: 'source' | 'sftp') => Error;
  mtime?: Date;
  /** a piece that ended short or long: the error to fail with (a source problem, not SFTP's) */
  sizeMismatch?: (piece: { start: number; end: number; bytes: number }) => Error;
}

export const DEFAULT_PIECE_SIZE = 32 * 1024 * 1024;
export const DEFAULT_LANES = 4;

function reasonOf(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new SftpError('SftpAborted', 'The upload was cancelled; its temp file was removed.');
}

/** Resolves with the bytes written once the file is published under its final name. */
export async function publishRanged(opts: RangedPublishOptions): Promise<{ bytes: number; remotePath: string }> {
  const mode = opts.mode ?? 'rename';
  const suffix = opts.tempSuffix ?? '.partial';
  assertSafeName(opts.name);
  if (mode === 'rename') assertSafeName(`${opts.name}${suffix}`);
  const finalPath = joinRemote(opts.dir, opts.name);
  const target = mode === 'rename' ? `${finalPath}${suffix}` : finalPath;
  const pieceSize = Math.max(1 << 20, Math.floor(opts.pieceSize ?? DEFAULT_PIECE_SIZE));
  const pieces: { start: number; end: number }[] = [];
  for (let start = 0; start < opts.size; start += pieceSize) pieces.push({ start, end: Math.min(opts.size, start + pieceSize) - 1 });
  const lanes = Math.max(1, Math.min(opts.lanes ?? DEFAULT_LANES, pieces.length));

  // the first failure stops every lane (their downloads and writes) at once
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    if (!stop.signal.aborted) stop.abort(failure);
  };
  const onOuterAbort = () => fail(reasonOf(opts.signal!));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const acked = new Array<number>(pieces.length).fill(0);
  let total = 0;
  let next = 0;
  let created = false;
  let lastRead = Date.now();
  let lastAck = Date.now();
  const stallMs = opts.stallTimeoutMs ?? 0;
  const stallTimer =
    stallMs > 0
      ? setInterval(() => {
          if (Date.now() - Math.max(lastRead, lastAck) < stallMs) return;
          const side = lastRead > lastAck ? 'sftp' : 'source';
          fail(opts.stallError?.(side) ?? new SftpError('SftpError', `no progress on ${opts.name} for ${Math.round(stallMs / 1000)} s (${side})`));
        }, Math.max(100, Math.min(1000, stallMs / 4)))
      : undefined;
  /** the source with every chunk noted; errors and destruction pass both ways */
  const tapped = (raw: Readable): Readable => {
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        lastRead = Date.now();
        done(null, chunk);
      },
    });
    pipeline(raw, tap, () => undefined);
    return tap;
  };
  try {
    if (opts.signal?.aborted) throw reasonOf(opts.signal);
    // created (or truncated) once, before any lane writes into it
    await opts.withSession((s) => s.writeAt(target, Readable.from([]), { offset: 0, create: true, signal }));
    created = true;
    const lane = async () => {
      if (next >= pieces.length || failure) return;
      await opts.withSession(async (s) => {
        while (!failure && next < pieces.length) {
          const i = next++;
          const piece = pieces[i];
          const source = tapped(opts.openRange(piece.start, piece.end));
          const bytes = await s.writeAt(target, source, {
            offset: piece.start,
            signal,
            chunkSize: opts.chunkSize,
            concurrency: opts.concurrency,
            onProgress: (b) => {
              lastAck = Date.now();
              total += b - acked[i];
              acked[i] = b;
              opts.onProgress?.(total);
            },
          });
          const want = piece.end - piece.start + 1;
          if (bytes !== want) {
            throw opts.sizeMismatch?.({ ...piece, bytes }) ??
              new SftpError('SftpError', `read ${bytes} bytes of the range ${piece.start}-${piece.end} of ${opts.name}, expected ${want}`);
          }
        }
      });
    };
    await Promise.all(
      Array.from({ length: lanes }, () =>
        lane().catch((err: unknown) => {
          fail(err as Error);
        }),
      ),
    );
    if (failure) throw failure;
    if (signal.aborted) throw reasonOf(signal);
    await opts.withSession(async (s) => {
      if (opts.mtime) await s.setMtime(target, opts.mtime);
      if (mode === 'rename') await s.rename(target, finalPath);
    });
    return { bytes: total, remotePath: finalPath };
  } catch (err) {
    fail(err as Error);
    if (created) await opts.withSession((s) => s.remove(target)).catch(() => undefined);
    throw opts.signal?.aborted ? reasonOf(opts.signal) : err;
  } finally {
    clearInterval(stallTimer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
