/** The pipelined writer against a fake SFTP target: ordering, limits, backpressure, errors, abort. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { writeStreamToHandle, type SftpWriteTarget } from '../../src/sftp';

type Cb = (err?: Error | null) => void;

/** Records writes; acknowledgements are released by the test, in any order. */
class FakeTarget implements SftpWriteTarget {
  file = Buffer.alloc(0);
  pending: { position: number; len: number; cb: Cb }[] = [];
  maxInFlight = 0;
  writes = 0;
  failAt?: number;

  write(_h: Buffer, buf: Buffer, off: number, len: number, position: number, cb: Cb): void {
    this.writes++;
    const data = Buffer.from(buf.subarray(off, off + len)); // the server has its own copy
    if (position + len > this.file.length) this.file = Buffer.concat([this.file, Buffer.alloc(position + len - this.file.length)]);
    data.copy(this.file, position);
    this.pending.push({ position, len, cb });
    this.maxInFlight = Math.max(this.maxInFlight, this.pending.length);
  }

  /** Acknowledges every outstanding write, in a shuffled order. */
  ackAllShuffled(): void {
    const batch = this.pending.splice(0);
    for (let i = batch.length - 1; i > 0; i--) {
      const j = crypto.randomInt(i + 1);
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
    for (const w of batch) w.cb(this.failAt !== undefined && w.position >= this.failAt ? new Error(`write at ${w.position} failed`) : null);
  }
}

/** Keeps acknowledging (shuffled) until `done` settles. */
async function pump(target: FakeTarget, done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 100_000 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    target.ackAllShuffled();
  }
}

/** A lazily generated source; `produced` tells how far it has been read. */
function lazySource(total: number, piece: number) {
  const data = crypto.randomBytes(total);
  const state = { produced: 0, destroyed: false, data };
  const stream = new Readable({
    highWaterMark: piece,
    read() {
      if (state.produced >= total) return void this.push(null);
      const n = Math.min(piece, total - state.produced);
      this.push(data.subarray(state.produced, state.produced + n));
      state.produced += n;
    },
    destroy(err, cb) {
      state.destroyed = true;
      cb(err);
    },
  });
  return { stream, state };
}

const H = Buffer.from('handle');

void describe('pipelined writer (fake target)', () => {
  test('bytes land at the right offsets whatever the acknowledgement order; in-flight writes never exceed the limit', async () => {
    const target = new FakeTarget();
    const { stream, state } = lazySource(1_000_003, 7_777);
    const progress: number[] = [];
    const done = writeStreamToHandle(target, H, stream, { chunkSize: 4096, concurrency: 8, onProgress: (b) => progress.push(b) });
    await pump(target, done);
    assert.equal(await done, 1_000_003);
    assert.ok(target.file.equals(state.data));
    assert.equal(target.maxInFlight, 8, 'expected the pipeline to be full at times, and never over the limit');
    assert.equal(target.writes, Math.ceil(1_000_003 / 4096));
    assert.equal(progress.at(-1), 1_000_003);
    assert.ok(progress.every((b, i) => i === 0 || b > progress[i - 1]), 'progress only grows');
  });

  test('small source chunks are gathered into full-size writes', async () => {
    const target = new FakeTarget();
    const pieces = Array.from({ length: 1000 }, (_, i) => crypto.randomBytes((i % 13) + 1));
    const done = writeStreamToHandle(target, H, Readable.from(pieces), { chunkSize: 1000, concurrency: 4 });
    await pump(target, done);
    const all = Buffer.concat(pieces);
    assert.equal(await done, all.length);
    assert.ok(target.file.equals(all));
    assert.equal(target.writes, Math.ceil(all.length / 1000));
  });

  test('backpressure: while writes are unacknowledged the source is not read ahead', async () => {
    const target = new FakeTarget();
    const { stream, state } = lazySource(50 * 1024 * 1024, 16 * 1024);
    const done = writeStreamToHandle(target, H, stream, { chunkSize: 32 * 1024, concurrency: 16 });
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.equal(target.pending.length, 16);
    // in flight (16 × 32 KiB) + one partly gathered chunk + the stream's buffer
    assert.ok(state.produced <= 16 * 32 * 1024 + 32 * 1024 + 2 * 16 * 1024, `read ${state.produced} bytes ahead of the acknowledgements`);
    await pump(target, done);
    assert.equal(await done, 50 * 1024 * 1024);
  });

  test('a failed write stops reading, waits for the writes in flight, then rejects with that error', async () => {
    const target = new FakeTarget();
    target.failAt = 64 * 1024;
    const { stream, state } = lazySource(20 * 1024 * 1024, 8192);
    const done = writeStreamToHandle(target, H, stream, { chunkSize: 8192, concurrency: 8 });
    let outstandingAtReject = -1;
    const rejected = done.then(() => assert.fail('expected a rejection'), (err: Error) => {
      outstandingAtReject = target.pending.length;
      return err;
    });
    // acknowledge one at a time so some writes are still in flight when the first error arrives
    let inFlightAtFirstError = -1;
    for (let i = 0; i < 10_000 && outstandingAtReject < 0; i++) {
      await new Promise((r) => setImmediate(r));
      const w = target.pending.shift();
      if (!w) continue;
      const failed = w.position >= target.failAt;
      if (failed && inFlightAtFirstError < 0) inFlightAtFirstError = target.pending.length;
      w.cb(failed ? new Error('write at offset failed') : null);
    }
    const err = await rejected;
    assert.ok(inFlightAtFirstError > 0, 'the test meant to fail a write while others were in flight');
    assert.match(err.message, /write at offset failed/);
    assert.equal(outstandingAtReject, 0, 'rejected before every write in flight had settled');
    assert.ok(state.destroyed, 'the source was not destroyed');
    assert.ok(state.produced < 1024 * 1024, `kept reading after the error (${state.produced} bytes)`);
  });

  test('a source that errors midway rejects with its error after the writes in flight settle', async () => {
    const target = new FakeTarget();
    const source = new Readable({
      read() {},
    });
    const done = writeStreamToHandle(target, H, source, { chunkSize: 10, concurrency: 4 });
    source.push(Buffer.alloc(25, 1));
    await new Promise((r) => setImmediate(r));
    source.destroy(new Error('GCS stream broke'));
    const p = done.then(() => assert.fail('expected a rejection'), (e: Error) => e);
    await pump(target, p);
    assert.match((await p).message, /GCS stream broke/);
    assert.equal(target.pending.length, 0);
  });

  test('abort: a stalled source is given up at once and the signal reason is the error', async () => {
    const target = new FakeTarget();
    const source = new Readable({ read() {} }); // never produces
    const ac = new AbortController();
    const done = writeStreamToHandle(target, H, source, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('cancelled by the workflow')), 20);
    await assert.rejects(done, /cancelled by the workflow/);
    assert.ok(source.destroyed);
  });

  test('an already aborted signal writes nothing', async () => {
    const target = new FakeTarget();
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(writeStreamToHandle(target, H, Readable.from([Buffer.alloc(10)]), { signal: ac.signal }), { name: 'AbortError' });
    assert.equal(target.writes, 0);
  });

  test('a lost transport rejects at once, without waiting for acknowledgements that will never come', async () => {
    const target = new FakeTarget();
    const lost = new AbortController();
    const { stream } = lazySource(1024 * 1024, 4096);
    const done = writeStreamToHandle(target, H, stream, { chunkSize: 4096, concurrency: 4, lostSignal: lost.signal });
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    assert.equal(target.pending.length, 4);
    lost.abort(new Error('connection lost'));
    await assert.rejects(done, /connection lost/);
  });

  test('an empty source writes nothing and returns 0', async () => {
    const target = new FakeTarget();
    assert.equal(await writeStreamToHandle(target, H, Readable.from([])), 0);
    assert.equal(target.writes, 0);
  });
});
