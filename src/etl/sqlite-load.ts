/**
 * The run's SQLite load on a thread of its own: the save reads each staged file once, its bytes
 * going to SFTP on this thread and (copied, in ~256 KiB messages) to the load thread, which splits
 * them into rows and inserts them inside the run's one transaction. Parsing and inserting the rows
 * (~1 s of CPU per 100,000 records, more than the SFTP upload) then runs beside the upload instead
 * of between its chunks, and its garbage lives in the thread's own small heap. Bounded: at most
 * MAX_IN_FLIGHT messages wait for the thread; beyond that the stream waits (the database sets the
 * pace, as before). The transaction and its guarantees are db.ts's `loadRun`: a run's rows are
 * replaced as a whole, and a thread ended (or a process killed) before the commit leaves the old ones.
 * Opt-in (BQSFTP_ETL_SQLITE_THREAD=1): on the 2-core bench machine (P8, shared, load ~5) it cost
 * ~1.5 s more CPU per 100,000 records and ~20 MB more peak RSS for no shorter save; on a machine
 * with a core to spare the upload and the inserts would overlap.
 */
import path from 'node:path';
import { Transform } from 'node:stream';
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
const MAX_IN_FLIGHT = 8;

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
    this.settled.catch(() => undefined); // surfaced by tap and commit
  }

  /** the thread's error, if it failed */
  get error(): Error | undefined {
    return this.failure;
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
   * A pass-through for one staged file: its bytes also go to the thread as rows of `kind`. Fails
   * with the thread's error (`onError` hears it first, to tell it from an SFTP or GCS failure).
   */
  tap(kind: RowKind, onError: (err: Error) => void): Transform {
    let buf = Buffer.allocUnsafeSlow(MESSAGE_BYTES);
    let used = 0;
    const ship = (): Promise<void> | undefined => {
      if (used === 0) return undefined;
      const ab = buf.buffer.slice(0, used) as ArrayBuffer; // a copy the size of what is in it
      used = 0;
      this.inFlight++;
      this.send({ type: 'chunk', kind, buf: ab }, [ab]);
      return this.room();
    };
    const failed = (): Error | undefined => {
      if (this.failure) onError(this.failure);
      return this.failure;
    };
    return new Transform({
      highWaterMark: 1 << 18,
      transform: (chunk: Buffer, _enc, done) => {
        if (failed()) return done(this.failure);
        let at = 0;
        let wait: Promise<void> | undefined;
        while (at < chunk.length) {
          const n = chunk.copy(buf, used, at);
          used += n;
          at += n;
          if (used === MESSAGE_BYTES) {
            wait = ship() ?? wait;
            buf = Buffer.allocUnsafeSlow(MESSAGE_BYTES);
          }
        }
        if (wait) wait.then(() => done(failed(), chunk), done);
        else done(null, chunk);
      },
      flush: (done) => {
        if (failed()) return done(this.failure);
        void ship();
        this.send({ type: 'end', kind });
        done();
      },
    });
  }

  /** commits the run's transaction once the thread has every row; the line count of each file */
  async commit(): Promise<Record<RowKind, number>> {
    this.send({ type: 'commit' });
    await this.settled;
    return { raw: this.lines.raw ?? 0, processed: this.lines.processed ?? 0, dlq: this.lines.dlq ?? 0 };
  }

  /** ends the thread (without a commit, the transaction is rolled back) */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
