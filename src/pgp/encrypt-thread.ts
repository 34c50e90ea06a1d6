/**
 * The body of an encryption worker thread (see `threadedEncryptingStream` in ./streams): gets
 * plaintext chunks from the parent, writes the OpenPGP message here (the native writer with the
 * parent's plan, or OpenPGP.js's streaming encrypt + sign) and the plaintext hashes, sends the
 * message back in chunks. The keys arrive in `workerData` (memory of this process only; never
 * logged). On the native path the thread never loads OpenPGP.js.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type * as OpenPgp from 'openpgp';
import { nativeEncoder, type NativeEncryptionPlan } from './native-writer';

export interface EncryptThreadData {
  /** the native writer's session key, PKESK packets and signing key; else OpenPGP.js with the armored keys */
  native?: NativeEncryptionPlan;
  publicKeys: string[];
  /** armored, already decrypted */
  signingKey?: string;
  armor: boolean;
  fileName?: string;
  md5: boolean;
}

export type ToThread = { type: 'chunk'; buf: ArrayBuffer } | { type: 'end' } | { type: 'pause' } | { type: 'resume' };
export type FromThread =
  | { type: 'credit' }
  | { type: 'out'; buf: ArrayBuffer }
  | { type: 'done'; bytes: number; sha256: string; md5?: string }
  | { type: 'error'; message: string };

/** The native writer, driven by the parent's messages; input is processed only while output is wanted. */
function runNative(port: NonNullable<typeof parentPort>, data: EncryptThreadData & { native: NativeEncryptionPlan }): void {
  const enc = nativeEncoder(data.native, { armor: data.armor, fileName: data.fileName, md5: data.md5 });
  const queue: (Buffer | null)[] = [];
  let paused = false;
  const send = (outs: Buffer[]) => {
    if (!outs.length) return;
    const buf = outs.length === 1 ? outs[0] : Buffer.concat(outs);
    // a Buffer of its own ArrayBuffer moves to the parent without a copy; a pooled slice is copied first
    const ab = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? (buf.buffer as ArrayBuffer) : (new Uint8Array(buf).buffer as ArrayBuffer);
    port.postMessage({ type: 'out', buf: ab } satisfies FromThread, [ab]);
  };
  const drain = () => {
    try {
      while (!paused && queue.length) {
        const c = queue.shift()!;
        if (c === null) {
          send(enc.final());
          const m = enc.measure();
          port.postMessage({ type: 'done', bytes: m.bytes, sha256: m.sha256, ...(m.md5 ? { md5: m.md5 } : {}) } satisfies FromThread);
          return;
        }
        send(enc.update(c));
        port.postMessage({ type: 'credit' } satisfies FromThread);
      }
    } catch (err) {
      port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromThread);
    }
  };
  port.on('message', (m: ToThread) => {
    if (m.type === 'chunk') queue.push(Buffer.from(m.buf));
    else if (m.type === 'end') queue.push(null);
    else if (m.type === 'pause') paused = true;
    else paused = false;
    drain();
  });
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as EncryptThreadData;
  if (data.native) return runNative(port, { ...data, native: data.native });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const openpgp = require('openpgp') as typeof OpenPgp;
  const post = (m: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const queue: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let paused = false;
  let unpause: (() => void) | undefined;
  let bytes = 0;
  const sha256 = createHash('sha256');
  const md5 = data.md5 ? createHash('md5') : undefined;
  port.on('message', (m: ToThread) => {
    if (m.type === 'chunk') queue.push(new Uint8Array(m.buf));
    else if (m.type === 'end') ended = true;
    else if (m.type === 'pause') paused = true;
    else if (m.type === 'resume') {
      paused = false;
      unpause?.();
    }
    wake?.();
  });
  const input = new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        while (!queue.length && !ended) await new Promise<void>((r) => (wake = r));
        const c = queue.shift();
        if (!c) return ctrl.close();
        bytes += c.length;
        sha256.update(c);
        md5?.update(c);
        ctrl.enqueue(c);
        post({ type: 'credit' });
      },
    },
    { highWaterMark: 0 },
  );
  const encryptionKeys = await Promise.all(data.publicKeys.map((armoredKey) => openpgp.readKey({ armoredKey })));
  const signingKeys = data.signingKey ? [await openpgp.readPrivateKey({ armoredKey: data.signingKey })] : [];
  const message = await openpgp.createMessage({ binary: input as unknown as OpenPgp.WebStream<Uint8Array>, filename: data.fileName, format: 'binary' });
  const common = { message, encryptionKeys, signingKeys };
  const encrypted = (data.armor ? await openpgp.encrypt({ ...common, format: 'armored' }) : await openpgp.encrypt({ ...common, format: 'binary' })) as unknown as ReadableStream<Uint8Array | string>;
  const reader = encrypted.getReader();
  for (;;) {
    while (paused) await new Promise<void>((r) => (unpause = r));
    const { done, value } = await reader.read();
    if (done) break;
    // a copy in a fresh ArrayBuffer, moved (not copied again) to the parent: OpenPGP.js may still hold `value`
    const copy = typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'utf8')) : new Uint8Array(value);
    const ab = copy.buffer as ArrayBuffer;
    post({ type: 'out', buf: ab }, [ab]);
  }
  post({ type: 'done', bytes, sha256: sha256.digest('hex'), ...(md5 ? { md5: md5.digest('hex') } : {}) });
}

if (parentPort) {
  main().catch((err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromThread));
}
