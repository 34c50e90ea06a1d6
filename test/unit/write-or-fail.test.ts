import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { writeOrFail } from '../../src/activities/write-or-fail';

/** A stream that takes one chunk at a time and says when it is full (highWaterMark 1 byte). */
function slowSink(): Writable & { release: () => void } {
  let pending: (() => void) | undefined;
  const s = new Writable({
    highWaterMark: 1,
    write(_chunk, _enc, cb) {
      pending = cb;
    },
  }) as Writable & { release: () => void };
  s.on('error', () => undefined); // as the COPY stream's own listener does
  s.release = () => pending?.();
  return s;
}

const withinOneSecond = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still waiting after 1 s: it would wait for ever')), 1000).unref())]);

test('a stream that failed while the writer was elsewhere: the next write rejects with that error instead of waiting for ever', async () => {
  const s = slowSink();
  s.destroy(new Error('Connection terminated unexpectedly'));
  await new Promise((r) => setImmediate(r)); // its error has been emitted already, to nobody waiting
  await assert.rejects(withinOneSecond(writeOrFail(s, 'row\n')), /Connection terminated unexpectedly/);
});

test('a stream closed without an error: the write rejects, saying so', async () => {
  const s = slowSink();
  s.destroy();
  await new Promise((r) => setImmediate(r));
  await assert.rejects(withinOneSecond(writeOrFail(s, 'row\n')), /closed before everything was written/);
});

test('a stream that fails while the writer waits for room: the wait ends with its error', async () => {
  const s = slowSink();
  const w = writeOrFail(s, 'row\n'); // full after this chunk: waits for drain
  setImmediate(() => s.destroy(new Error('server closed the connection')));
  await assert.rejects(withinOneSecond(w), /server closed the connection/);
});

test('a healthy stream: the write waits for room and then resolves', async () => {
  const s = slowSink();
  let done = false;
  const w = writeOrFail(s, 'row\n').then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'waits while the stream is full');
  s.release();
  await withinOneSecond(w);
  assert.equal(done, true);
});
