/**
 * Writes a readable stream to an open SFTP handle with many WRITE requests in flight.
 *
 * A plain `stream.pipe(sftp.createWriteStream())` waits for each WRITE's acknowledgement before
 * sending the next, so every chunk costs a round trip. Here up to `concurrency` writes of
 * `chunkSize` bytes are outstanding at increasing offsets (as OpenSSH's sftp and ssh2's fastPut
 * do for local files); acknowledgements may come back in any order. The source is only read
 * while fewer than `concurrency` writes are outstanding, so memory stays at about
 * `concurrency × chunkSize` plus the source's own buffer, whatever the file size.
 */
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** The part of ssh2's SFTPWrapper the writer needs (a fake in tests). */
export interface SftpWriteTarget {
  write(handle: Buffer, buf: Buffer, off: number, len: number, position: number, cb: (err?: Error | null) => void): void;
}

export interface PipelinedWriteOptions {
  /** bytes per WRITE request (default 32 KiB) */
  chunkSize?: number;
  /** WRITE requests in flight at once (default 64) */
  concurrency?: number;
  /** offset of the first byte (default 0) */
  startOffset?: number;
  /** stops reading and rejects with the signal's reason */
  signal?: AbortSignal;
  /**
   * fired when the transport is gone: outstanding writes will never be acknowledged, so the
   * writer rejects with the signal's reason at once instead of waiting for them
   */
  lostSignal?: AbortSignal;
  /** acknowledged bytes so far, after every acknowledgement */
  onProgress?: (bytes: number) => void;
  /** updated with every byte, in order */
  hashes?: Hash[];
  /**
   * send what has been gathered at once while no WRITE is in flight, instead of waiting for a
   * full chunk (with large chunks: a source that pauses must not look like a server that does not
   * acknowledge, and small files need no second pass)
   */
  sendWhenIdle?: boolean;
}

export const DEFAULT_CHUNK_SIZE = 32 * 1024;
export const DEFAULT_CONCURRENCY = 64;

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error(typeof r === 'string' ? r : 'The operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** Resolves with the number of bytes written; rejects with the first error after the writes in flight have settled. */
export function writeStreamToHandle(target: SftpWriteTarget, handle: Buffer, source: Readable, opts: PipelinedWriteOptions = {}): Promise<number> {
  const chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? DEFAULT_CHUNK_SIZE));
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_CONCURRENCY));
  const start = opts.startOffset ?? 0;

  let offset = start; // next byte to send
  let acked = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  let lost = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitUntil = async (ready: () => boolean) => {
    while (!ready()) await new Promise<void>((resolve) => (wake = resolve));
  };

  const fail = (err: Error) => {
    failure ??= err;
    // stop reading; this also unblocks a source that is waiting for data (a stalled download)
    if (!source.destroyed) source.destroy();
    notify();
  };
  const onAbort = () => fail(abortReason(opts.signal!));
  const onLost = () => {
    lost = true;
    fail(abortReason(opts.lostSignal!));
  };

  // Small source chunks are gathered into one WRITE; big ones are cut into several.
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let flushing = false;
  const sendPending = () => {
    const joined = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingLen);
    pending = [];
    pendingLen = 0;
    send(joined);
  };
  /** The next `n` pending bytes: a slice of the first buffer when it holds them, else a copy of just those bytes. */
  const takePiece = (n: number): Buffer => {
    const first = pending[0];
    if (first.length >= n) {
      if (first.length === n) pending.shift();
      else pending[0] = first.subarray(n);
      pendingLen -= n;
      return first.subarray(0, n);
    }
    const piece = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const b = pending[0];
      const take = Math.min(b.length, n - filled);
      b.copy(piece, filled, 0, take);
      filled += take;
      if (take === b.length) pending.shift();
      else pending[0] = b.subarray(take);
    }
    pendingLen -= n;
    return piece;
  };
  const send = (buf: Buffer) => {
    const position = offset;
    offset += buf.length;
    inFlight++;
    target.write(handle, buf, 0, buf.length, position, (err) => {
      inFlight--;
      if (err) fail(err);
      else {
        acked += buf.length;
        opts.onProgress?.(acked);
        if (opts.sendWhenIdle && inFlight === 0 && pendingLen > 0 && !flushing && !failure) sendPending();
      }
      notify();
    });
  };

  const run = async (): Promise<number> => {
    const flush = async (all: boolean) => {
      flushing = true;
      try {
        await flushChunks(all);
      } finally {
        flushing = false;
      }
      if (opts.sendWhenIdle && inFlight === 0 && pendingLen > 0 && !failure) sendPending();
    };
    const flushChunks = async (all: boolean) => {
      while (pendingLen >= chunkSize || (all && pendingLen > 0)) {
        await waitUntil(() => inFlight < concurrency || failure !== undefined);
        if (failure) return;
        send(takePiece(Math.min(chunkSize, pendingLen)));
      }
    };
    try {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      for await (const chunk of source) {
        if (failure) break;
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string | Uint8Array);
        if (!buf.length) continue;
        for (const h of opts.hashes ?? []) h.update(buf);
        pending.push(buf);
        pendingLen += buf.length;
        await flush(false);
        if (failure) break;
      }
      if (!failure) await flush(true);
    } catch (err) {
      fail(err as Error);
    }
    if (!lost) await waitUntil(() => inFlight === 0 || lost);
    if (failure) throw failure;
    return offset - start;
  };

  opts.signal?.addEventListener('abort', onAbort, { once: true });
  opts.lostSignal?.addEventListener('abort', onLost, { once: true });
  if (opts.lostSignal?.aborted) onLost();
  return run().finally(() => {
    opts.signal?.removeEventListener('abort', onAbort);
    opts.lostSignal?.removeEventListener('abort', onLost);
  });
}
