/**
 * The run's SQLite load on a thread of its own, fed by the one-pass extract as it stages: each
 * stored chunk's three texts (raw, processed, dead letters; whole lines) are copied to the thread,
 * which splits them into rows and inserts them inside the run's one transaction, on the second
 * core while the extract's thread fetches and validates the next pages. The save then only
 * publishes the files. Bounded: at most MAX_IN_FLIGHT messages wait for the thread; beyond that
 * `feed` waits (the database sets the pace). The transaction and its guarantees are db.ts's
 * `loadRun`: a run's rows are replaced as a whole, and a thread ended (or a process killed) before
 * the commit leaves the old ones. It holds SQLite's one write lock from the first rows to the
 * commit, that is for the length of the extract.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RowKind } from './rows';

export interface LoadThreadData {
  file: string;
  pipeline: string;
  runId: string;
}
export type ToLoadThread = { type: 'chunk'; kind: RowKind; buf: ArrayBuffer } | { type: 'end'; kind: RowKind } | { type: 'commit' };
export type FromLoadThread = { type: 'credit' } | { type: 'rows'; kind: RowKind; lines: number } | { type: 'committed' } | { type: 'error'; message: string; code?: string };

const MESSAGE_BYTES = 256 * 1024;
const MAX_IN_FLIGHT = 16;

export class SqliteLoadError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class SqliteRunLoad {
  private readonly worker: Worker;
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  private failure: Error | undefined;
  private finished = false;
  private readonly lines: Partial<Record<RowKind, number>> = {};
  private readonly settled: Promise<void>;

  constructor(data: LoadThreadData) {
    const entry = path.join(__dirname, `sqlite-load-thread${path.extname(__filename)}`);
    // the same file as TypeScript (tsx) or compiled JavaScript (dist/); a small heap of its own
    this.worker = new Worker(`${entry.endsWith('.ts') ? "require('tsx/cjs');" : ''}require(${JSON.stringify(entry)});`, {
      eval: true,
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 128 },
    });
    this.settled = new Promise<void>((resolve, reject) => {
      const stop = (err?: Error) => {
        if (this.finished) return;
        this.finished = true;
        if (err) this.failure ??= err;
        for (const w of this.waiting.splice(0)) w();
        if (this.failure) reject(this.failure);
        else resolve();
      };
      this.worker.on('message', (m: FromLoadThread) => {
        if (m.type === 'credit') {
          this.inFlight--;
          this.waiting.shift()?.();
        } else if (m.type === 'rows') this.lines[m.kind] = m.lines;
        else if (m.type === 'committed') stop();
        else stop(new SqliteLoadError(m.message, m.code));
      });
      this.worker.on('error', (e) => stop(e));
      this.worker.on('exit', () => stop(new Error('the SQLite load thread ended before the commit')));
    });
    this.settled.catch(() => undefined); // surfaced by feed and commit
  }

  private send(m: ToLoadThread, transfer: ArrayBuffer[] = []): void {
    if (!this.finished) this.worker.postMessage(m, transfer);
  }

  /** resolves when fewer than MAX_IN_FLIGHT messages wait for the thread (or it ended) */
  private room(): Promise<void> | undefined {
    if (this.inFlight < MAX_IN_FLIGHT || this.finished) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * The next bytes of `kind`'s file (a line may be cut between calls) for the thread; copied, so
   * the caller may reuse `bytes` at once. Resolves when the thread has room for more; rejects with
   * its error.
   */
  async feed(kind: RowKind, bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length; at += MESSAGE_BYTES) {
      if (this.failure) throw this.failure;
      const part = bytes.subarray(at, Math.min(bytes.length, at + MESSAGE_BYTES));
      const ab = new ArrayBuffer(part.length);
      part.copy(Buffer.from(ab));
      this.inFlight++;
      this.send({ type: 'chunk', kind, buf: ab }, [ab]);
      await this.room();
    }
    if (this.failure) throw this.failure;
  }

  /** commits the run's transaction once the thread has every row; the line count of each file */
  async commit(): Promise<Record<RowKind, number>> {
    for (const kind of ['raw', 'processed', 'dlq'] as const) this.send({ type: 'end', kind });
    this.send({ type: 'commit' });
    await this.settled;
    return { raw: this.lines.raw ?? 0, processed: this.lines.processed ?? 0, dlq: this.lines.dlq ?? 0 };
  }

  /** ends the thread (without a commit, the transaction is rolled back) */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
