import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

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
