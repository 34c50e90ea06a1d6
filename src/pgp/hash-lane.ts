/**
 * The native writer's hashes — SHA-256 of the plaintext (the signature's hash and the measure),
 * SHA-1 of the integrity check (MDC), md5 when asked for — either here (`inlineHashes`) or on
 * another core (`threadHashes`): the bytes are copied into a ring buffer shared with a worker
 * thread, which hashes them while this thread encrypts and sends. Nothing is allocated per chunk
 * and nothing comes back but the digests, so a large file's hashing (~1.6 s of CPU per GiB here)
 * leaves the transfer's thread.
 *
 * The writer is synchronous, so this side waits with Atomics.wait when the ring is full or a
 * digest is due; every wait is bounded (a thread that makes no progress for STALL_MS fails the
 * file instead of hanging the worker).
 */
import crypto from 'node:crypto';
import type * as NodeCrypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';

export interface PlainHashes {
  /** plaintext bytes: SHA-256 (and md5) */
  plain(b: Uint8Array): void;
  /** bytes inside the encryption (prefix, packets, plaintext): SHA-1 of the MDC */
  mdc(b: Uint8Array): void;
  /** after the last plaintext: the plaintext's sha256/md5 and, with `trailer`, SHA-256(plaintext ‖ trailer) */
  finishPlain(trailer?: Buffer): { sha256: string; md5?: string; signatureDigest?: Buffer };
  /** after the last MDC bytes: the SHA-1 digest */
  finishMdc(): Buffer;
  /** stops the thread (also after a failure) */
  close(): void;
}

export function inlineHashes(o: { md5?: boolean }): PlainHashes {
  const sha256 = crypto.createHash('sha256');
  const md5 = o.md5 ? crypto.createHash('md5') : undefined;
  const sha1 = crypto.createHash('sha1');
  return {
    plain(b) {
      sha256.update(b);
      md5?.update(b);
    },
    mdc: (b) => void sha1.update(b),
    finishPlain(trailer) {
      const signatureDigest = trailer ? sha256.copy().update(trailer).digest() : undefined;
      return { sha256: sha256.digest('hex'), ...(md5 ? { md5: md5.digest('hex') } : {}), ...(signatureDigest ? { signatureDigest } : {}) };
    },
    finishMdc: () => sha1.digest(),
    close: () => undefined,
  };
}

const RING = 8 * 1024 * 1024;
const HEADER = 8;
/** the largest record: a bigger chunk goes as several */
const MAX_RECORD = 1024 * 1024;
const STALL_MS = 30_000;
// control words
const USED = 0;
const RESULT = 1;
const FAILED = 2;
// record types
const PLAIN = 1;
const MDC = 2;
const FINISH_PLAIN = 3;
const FINISH_MDC = 4;

/**
 * The thread's body. Self-contained (it runs from its source text, in the thread): reads records
 * from the ring, hashes them, posts digests into the result area.
 */
function hashThreadMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- this function's text runs in the thread, without imports */
  const { workerData } = require('node:worker_threads') as typeof WorkerThreads;
  const nodeCrypto = require('node:crypto') as typeof NodeCrypto;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { ring, control, result, md5: withMd5 } = workerData as { ring: SharedArrayBuffer; control: SharedArrayBuffer; result: SharedArrayBuffer; md5: boolean };
  const size = ring.byteLength;
  const bytes = new Uint8Array(ring);
  const ctl = new Int32Array(control);
  const out = new Uint8Array(result);
  const sha256 = nodeCrypto.createHash('sha256');
  const md5 = withMd5 ? nodeCrypto.createHash('md5') : undefined;
  const sha1 = nodeCrypto.createHash('sha1');
  let tail = 0;
  const header = new DataView(new ArrayBuffer(8));
  const read = (n: number, each: (v: Uint8Array) => void) => {
    const first = Math.min(n, size - tail);
    if (first) each(bytes.subarray(tail, tail + first));
    if (n > first) each(bytes.subarray(0, n - first));
    tail = (tail + n) % size;
  };
  try {
    for (;;) {
      const used = Atomics.load(ctl, 0);
      if (used === 0) {
        Atomics.wait(ctl, 0, 0, 1000);
        continue;
      }
      let k = 0;
      read(8, (v) => {
        for (const b of v) header.setUint8(k++, b);
      });
      const type = header.getInt32(0);
      const len = header.getInt32(4);
      if (type === 1) {
        read(len, (v) => {
          sha256.update(v);
          md5?.update(v);
        });
      } else if (type === 2) {
        read(len, (v) => void sha1.update(v));
      } else if (type === 3) {
        const trailer: Uint8Array[] = [];
        read(len, (v) => void trailer.push(Uint8Array.from(v)));
        if (len) out.set(sha256.copy().update(Buffer.concat(trailer)).digest(), 0); // signature digest: 0..32
        out.set(sha256.digest(), 32); // plaintext sha256: 32..64
        if (md5) out.set(md5.digest(), 64); // md5: 64..80
      } else {
        read(len, () => undefined);
        out.set(sha1.digest(), 80); // sha1: 80..100
      }
      Atomics.sub(ctl, 0, 8 + len);
      Atomics.notify(ctl, 0);
      if (type >= 3) {
        Atomics.add(ctl, 1, 1);
        Atomics.notify(ctl, 1);
      }
      if (type === 4) return;
    }
  } catch {
    Atomics.store(ctl, 2, 1);
    Atomics.notify(ctl, 0);
    Atomics.notify(ctl, 1);
  }
}

// The function's compiled text, run with `eval` in the thread: `__name` is the helper tsx's
// esbuild wraps named arrow functions with; anything thrown marks the thread failed at once.
const THREAD_SOURCE = `const __name = (f) => f;
try { (${hashThreadMain.toString()})(); } catch {
  const c = new Int32Array(require('node:worker_threads').workerData.control);
  Atomics.store(c, ${FAILED}, 1); Atomics.notify(c, ${USED}); Atomics.notify(c, ${RESULT});
}`;

/** The hashes on a worker thread, fed through a shared ring buffer. */
export function threadHashes(o: { md5?: boolean }): PlainHashes {
  const ring = new SharedArrayBuffer(RING);
  const control = new SharedArrayBuffer(16);
  const result = new SharedArrayBuffer(128);
  const bytes = new Uint8Array(ring);
  const ctl = new Int32Array(control);
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ring, control, result, md5: Boolean(o.md5) } });
  // the thread is ours to end; it must not keep the worker process alive
  worker.unref();
  const dead = () => Atomics.store(ctl, FAILED, 1);
  worker.once('error', dead);
  let head = 0;
  let results = 0;
  const header = Buffer.alloc(HEADER);

  const failIfDead = (what: string, since: number) => {
    if (Atomics.load(ctl, FAILED)) throw new Error('the OpenPGP hash thread failed');
    if (Date.now() - since > STALL_MS) throw new Error(`the OpenPGP hash thread made no progress for ${STALL_MS / 1000} s (${what})`);
  };
  const copyIn = (b: Uint8Array) => {
    const first = Math.min(b.length, RING - head);
    bytes.set(b.subarray(0, first), head);
    if (b.length > first) bytes.set(b.subarray(first), 0);
    head = (head + b.length) % RING;
  };
  const record = (type: number, parts: Uint8Array[]) => {
    const len = parts.reduce((n, p) => n + p.length, 0);
    const need = HEADER + len;
    const since = Date.now();
    for (;;) {
      const used = Atomics.load(ctl, USED);
      if (RING - used >= need) break;
      failIfDead('waiting for room', since);
      Atomics.wait(ctl, USED, used, 100);
    }
    header.writeInt32BE(type, 0);
    header.writeInt32BE(len, 4);
    copyIn(header);
    for (const p of parts) copyIn(p);
    Atomics.add(ctl, USED, need);
    Atomics.notify(ctl, USED);
  };
  const chunked = (type: number, b: Uint8Array) => {
    for (let i = 0; i < b.length; i += MAX_RECORD) record(type, [b.subarray(i, i + MAX_RECORD)]);
  };
  const awaitResult = (what: string) => {
    const since = Date.now();
    for (;;) {
      const n = Atomics.load(ctl, RESULT);
      if (n > results) {
        results = n;
        return new Uint8Array(result);
      }
      failIfDead(what, since);
      Atomics.wait(ctl, RESULT, n, 100);
    }
  };
  return {
    plain: (b) => chunked(PLAIN, b),
    mdc: (b) => chunked(MDC, b),
    finishPlain(trailer) {
      record(FINISH_PLAIN, trailer ? [trailer] : []);
      const r = awaitResult('digest of the plaintext');
      return {
        sha256: Buffer.from(r.subarray(32, 64)).toString('hex'),
        ...(o.md5 ? { md5: Buffer.from(r.subarray(64, 80)).toString('hex') } : {}),
        ...(trailer ? { signatureDigest: Buffer.from(r.subarray(0, 32)) } : {}),
      };
    },
    finishMdc() {
      record(FINISH_MDC, []);
      return Buffer.from(awaitResult('digest of the MDC').subarray(80, 100));
    },
    close: () => void worker.terminate(),
  };
}
