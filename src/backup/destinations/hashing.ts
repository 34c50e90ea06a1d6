import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';

/** A pass-through that hashes (sha256 + md5) and counts what goes through it. */
export function hashingTap(onProgress?: (bytes: number) => void) {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sha256.update(chunk);
      md5.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
      done(null, chunk);
    },
  });
  return {
    stream,
    peekBytes: () => bytes,
    result: () => ({ bytes, sha256: sha256.digest('hex'), md5: md5.digest('hex') }),
  };
}

/**
 * What was read of a source against what the source has: a short read or other bytes than the
 * source's md5 must never be published (retryable: the next attempt reads again).
 */
export function checkSourceRead(name: string, expected: { size?: number; md5?: string }, read: { bytes: number; md5?: string }): void {
  if (expected.size !== undefined && read.bytes !== expected.size) {
    throw ApplicationFailure.create({ type: 'SourceSizeMismatch', message: `read ${read.bytes} bytes of ${name} but the source has ${expected.size}; not published, retried` });
  }
  if (expected.md5 && read.md5 !== undefined && read.md5 !== expected.md5) {
    throw ApplicationFailure.create({ type: 'SourceChecksumMismatch', message: `md5 of ${name} as read (${read.md5}) differs from the source's ${expected.md5}; not published, retried` });
  }
}
