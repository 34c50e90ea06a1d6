import type { Writable } from 'node:stream';

/**
 * Writes a chunk and waits for room (`drain`), but never waits on a stream that can no longer
 * take it: a stream that failed while the writer was elsewhere (ingest's COPY stream whose
 * PostgreSQL died while the next BigQuery page was read; backup's upload to staging) has already
 * emitted its error, and a plain `write` + `once('drain')` on it would wait for ever while the
 * activity's heartbeat ticker kept the attempt alive.
 */
export async function writeOrFail(stream: Writable, chunk: string | Buffer): Promise<void> {
  const failure = () => stream.errored ?? (stream.destroyed || stream.writableEnded ? new Error('the stream was closed before everything was written to it') : undefined);
  const early = failure();
  if (early) throw early;
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error | null) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (e: Error) => settle(e);
    const onClose = () => settle(failure() ?? new Error('the stream was closed before everything was written to it'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
    const now = failure(); // it may have failed during the write itself
    if (now) settle(now);
  });
}
