import { Transform, pipeline, type Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';

export interface StallWatchdog {
  /** the source with every chunk noted (pipe errors and destruction both ways) */
  source: Readable;
  /** aborts when neither a byte is read nor a write acknowledged for the timeout */
  signal: AbortSignal;
  acknowledged(): void;
  stop(): void;
}

/**
 * A download whose server died can stall with neither an error nor an end, and the transfer's
 * heartbeat ticker would keep such an attempt alive for ever: when no byte moves for `timeoutMs`,
 * the file is aborted with a retryable `TransferStalled` naming the side that went quiet.
 */
export function watchForStall(source: Readable, timeoutMs: number, objectName: string): StallWatchdog {
  const controller = new AbortController();
  let lastRead = Date.now();
  let lastAck = Date.now();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      lastRead = Date.now();
      done(null, chunk);
    },
  });
  pipeline(source, tap, () => undefined);
  const seconds = Math.round(timeoutMs / 1000);
  const timer = setInterval(() => {
    if (Date.now() - Math.max(lastRead, lastAck) < timeoutMs) return;
    clearInterval(timer);
    const message =
      lastRead > lastAck
        ? `SFTP acknowledged no write of "${objectName}" for ${seconds} s; the file was not published and is retried`
        : `Cloud Storage sent no data of "${objectName}" for ${seconds} s; the file was not published and is retried`;
    controller.abort(ApplicationFailure.create({ type: 'TransferStalled', message }));
  }, Math.max(100, Math.min(1000, timeoutMs / 4)));
  return {
    source: tap,
    signal: controller.signal,
    acknowledged: () => (lastAck = Date.now()),
    stop: () => clearInterval(timer),
  };
}
