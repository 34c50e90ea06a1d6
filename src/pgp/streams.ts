/**
 * OpenPGP on Node streams, with OpenPGP.js's streaming API (web streams underneath): bytes are
 * encrypted/decrypted as they pass, so memory stays flat whatever the file size and nothing is
 * staged on disk.
 *
 * - `encryptingStream(source, keys)`: encrypt to the recipients and (optionally) sign with our
 *   key, one pass; also measures the plaintext (bytes, sha256, md5) as it goes by.
 * - `decryptingStream(source, keys)`: decrypt with our key and, when partners' keys are given,
 *   require a valid signature by one of them. Plaintext is released as it is decrypted (so a
 *   large file never sits in memory); a bad MDC/signature makes the stream fail at its end, so
 *   a consumer must only commit what it read once the stream ended without error (pipeline()).
 */
import { createHash } from 'node:crypto';
import { Duplex, PassThrough, Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import * as openpgp from 'openpgp';
import { nativeEncryptionPlan } from './native-plan';
import { nativeEncryptTransform } from './native-writer';

export interface PlaintextMeasure {
  bytes: number;
  sha256: string;
  /** only when asked for (`md5: true`) */
  md5?: string;
}

export interface EncryptOptions {
  encryptionKeys: openpgp.PublicKey[];
  signingKey?: openpgp.PrivateKey;
  armor?: boolean;
  /** the file name stored in the literal data packet (what `gpg --decrypt --use-embedded-filename` would use) */
  fileName?: string;
  /** also take the plaintext's md5 (to compare with Cloud Storage's); sha256 is always taken */
  md5?: boolean;
}

export interface EncryptingStream {
  /** the OpenPGP message, as bytes (armored text encoded as UTF-8 when `armor`) */
  stream: Readable;
  /** what went in: final once `stream` has ended */
  plaintext(): PlaintextMeasure;
}

function toBuffers(): Transform {
  return new Transform({
    transform(chunk: Buffer | Uint8Array | string, _enc, cb) {
      cb(null, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
  });
}

const ENCRYPT_CHUNK = 256 * 1024;

/**
 * Encrypts (and signs) `source` while it streams. Errors of `source` come out of `stream`.
 * The message is written with Node's crypto (./native-writer) when the keys allow it (GnuPG's
 * Ed25519 and RSA signing keys, AES), else by OpenPGP.js.
 */
export function encryptingStream(source: Readable, opts: EncryptOptions): EncryptingStream {
  const out = toBuffers();
  let measure: (() => PlaintextMeasure) | undefined;
  const fail = (e: unknown) => {
    if (!out.destroyed) out.destroy(e instanceof Error ? e : new Error(String(e)));
    if (!source.destroyed) source.destroy();
  };
  source.once('error', fail);
  out.once('close', () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  void (async () => {
    const plan = await nativeEncryptionPlan(opts.encryptionKeys, opts.signingKey);
    if (out.destroyed) return;
    if (plan) {
      const writer = nativeEncryptTransform(plan, { armor: opts.armor, fileName: opts.fileName, md5: opts.md5 });
      measure = () => writer.measure();
      writer.once('error', fail);
      source.pipe(writer).pipe(out);
      return;
    }
    const js = openPgpJsEncryptingStream(source, opts);
    measure = () => js.plaintext();
    js.stream.once('error', fail);
    js.stream.pipe(out);
  })().catch(fail);
  return {
    stream: out,
    plaintext() {
      if (!measure) throw new Error('the plaintext measure is known once the encrypted stream has ended');
      return measure();
    },
  };
}

/** `encryptingStream` with OpenPGP.js doing the whole message (any key it supports). */
function openPgpJsEncryptingStream(source: Readable, opts: EncryptOptions): EncryptingStream {
  let bytes = 0;
  const sha256 = createHash('sha256');
  const md5 = opts.md5 ? createHash('md5') : undefined;
  let digests: { sha256: string; md5?: string } | undefined;
  // OpenPGP.js pays a fixed cost per chunk: hand it ~256 KiB at a time, not the source's 16-64 KiB
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      sha256.update(chunk);
      md5?.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < ENCRYPT_CHUNK) return cb();
      const out = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      cb(null, out);
    },
    flush(cb) {
      cb(null, pendingBytes ? Buffer.concat(pending, pendingBytes) : undefined);
    },
  });
  source.once('error', (e) => meter.destroy(e));
  source.pipe(meter);

  const out = toBuffers();
  const fail = (e: unknown) => {
    if (!out.destroyed) out.destroy(e instanceof Error ? e : new Error(String(e)));
    if (!source.destroyed) source.destroy();
  };
  void (async () => {
    const message = await openpgp.createMessage({
      binary: Readable.toWeb(meter) as unknown as openpgp.WebStream<Uint8Array>,
      filename: opts.fileName,
      format: 'binary',
    });
    const common = { message, encryptionKeys: opts.encryptionKeys, signingKeys: opts.signingKey ? [opts.signingKey] : [] };
    const encrypted = opts.armor
      ? await openpgp.encrypt({ ...common, format: 'armored' })
      : await openpgp.encrypt({ ...common, format: 'binary' });
    const readable = Readable.fromWeb(encrypted as unknown as NodeReadableStream);
    readable.once('error', fail);
    // the consumer gone (aborted upload): stop reading the source too
    out.once('close', () => {
      if (!readable.destroyed) readable.destroy();
      if (!source.destroyed && !source.readableEnded) source.destroy();
    });
    readable.pipe(out);
  })().catch(fail);

  return {
    stream: out,
    plaintext() {
      digests ??= { sha256: sha256.digest('hex'), ...(md5 ? { md5: md5.digest('hex') } : {}) };
      return { bytes, ...digests };
    },
  };
}

/** The same as a Duplex: write plaintext in, read the OpenPGP message out. */
export function createEncryptStream(opts: EncryptOptions): Duplex & { plaintext(): PlaintextMeasure } {
  const input = new PassThrough();
  const enc = encryptingStream(input, opts);
  return Object.assign(Duplex.from({ writable: input, readable: enc.stream }), { plaintext: enc.plaintext });
}

// ---------------------------------------------------------------------------------------------
// Decryption

export type PgpFailureType = 'PgpDecryptionFailed' | 'PgpSignatureInvalid' | 'PgpSignatureMissing' | 'PgpIntegrityFailed';

/** A permanent inbound failure naming the file and the key ids involved (mapped to a nonRetryable ApplicationFailure). */
export class PgpError extends Error {
  override readonly name = 'PgpError';
  readonly retryable = false;
  constructor(
    readonly type: PgpFailureType,
    readonly fileName: string,
    readonly keyIds: string[],
    message: string,
  ) {
    super(message);
  }
}

export function isPgpError(err: unknown): err is PgpError {
  return err instanceof Error && err.name === 'PgpError' && typeof (err as PgpError).type === 'string';
}

export interface DecryptOptions {
  /** the file's name, for error messages */
  fileName: string;
  decryptionKey: openpgp.PrivateKey;
  /** partners' keys: when any is given, a valid signature by one of them is required */
  verificationKeys?: openpgp.PublicKey[];
}

const hex = (ids: { toHex(): string }[]) => [...new Set(ids.map((k) => k.toHex().toUpperCase()))];

/** Yields `source`'s chunks after looking at the first one (armored or binary). */
async function peek(source: Readable): Promise<{ armored: boolean; chunks: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  const armored = head.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
  async function* all(): AsyncGenerator<Buffer> {
    if (!first.done) yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { armored, chunks: all() };
}

async function* utf8(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const d = new StringDecoder('utf8');
  for await (const c of chunks) yield d.write(c);
  const rest = d.end();
  if (rest) yield rest;
}

function classify(err: Error, o: DecryptOptions, signerIds: string[], expectedIds: string[]): PgpError {
  const m = err.message;
  const file = JSON.stringify(o.fileName);
  if (/Could not find signing key/i.test(m)) {
    return new PgpError('PgpSignatureInvalid', o.fileName, signerIds, `OpenPGP: ${file} is signed by key ${signerIds.join(', ') || '(unknown)'}, which is not among the partners' keys (${expectedIds.join(', ')}); not processed`);
  }
  if (/not signed|Message is not signed|signature.*missing|no signature/i.test(m)) {
    return new PgpError('PgpSignatureMissing', o.fileName, expectedIds, `OpenPGP: ${file} carries no signature, but one by ${expectedIds.join(', ')} is required; not processed`);
  }
  if (/signature/i.test(m)) {
    return new PgpError('PgpSignatureInvalid', o.fileName, signerIds, `OpenPGP: the signature of ${file} by key ${signerIds.join(', ') || '(unknown)'} does not verify (${m}): the file was altered or signed by someone else; not processed`);
  }
  if (/Modification detected|integrity|MDC|authentication tag|tag/i.test(m)) {
    return new PgpError('PgpIntegrityFailed', o.fileName, signerIds, `OpenPGP: ${file} fails its integrity check (${m}): the file was altered in transit; not processed`);
  }
  return new PgpError('PgpDecryptionFailed', o.fileName, signerIds, `OpenPGP: cannot decrypt ${file} (${m}); not processed`);
}

/**
 * Decrypts (and verifies) `source` while it streams. A bad key, a tampered byte or a bad or
 * missing signature makes the returned stream fail with a `PgpError` (permanent) naming the file
 * and the key id; an error of `source` itself (a dropped connection) comes out unchanged.
 */
export function decryptingStream(source: Readable, o: DecryptOptions): Readable {
  const out = toBuffers();
  let sourceError: Error | undefined;
  source.once('error', (e) => (sourceError ??= e));
  const expectedIds = hex((o.verificationKeys ?? []).map((k) => k.getKeyID()));
  let signerIds: string[] = [];
  let recipientIds: string[] = [];
  const fail = (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    if (!out.destroyed) out.destroy(sourceError ?? (isPgpError(err) ? err : classify(err, o, signerIds, expectedIds)));
    if (!source.destroyed) source.destroy();
  };
  void (async () => {
    const { armored, chunks } = await peek(source);
    const message = armored
      ? await openpgp.readMessage({ armoredMessage: ReadableStream.from(utf8(chunks)) as unknown as openpgp.WebStream<string> })
      : await openpgp.readMessage({ binaryMessage: ReadableStream.from(chunks) as unknown as openpgp.WebStream<Uint8Array> });
    recipientIds = hex(message.getEncryptionKeyIDs());
    const ours = hex([o.decryptionKey.getKeyID(), ...o.decryptionKey.getSubkeys().map((s) => s.getKeyID())]);
    if (recipientIds.length && !recipientIds.some((id) => ours.includes(id))) {
      throw new PgpError('PgpDecryptionFailed', o.fileName, recipientIds,
        `OpenPGP: ${JSON.stringify(o.fileName)} is encrypted to key ${recipientIds.join(', ')}, not to ours (${ours.join(', ')}); not processed`);
    }
    const verify = (o.verificationKeys ?? []).length > 0;
    const result = await openpgp.decrypt({
      message,
      decryptionKeys: o.decryptionKey,
      ...(verify ? { verificationKeys: o.verificationKeys, expectSigned: true } : {}),
      format: 'binary',
      // release plaintext as it is decrypted (flat memory); integrity/signature failures still fail the stream at its end
      config: { allowUnauthenticatedStream: true },
    });
    signerIds = hex(result.signatures.map((s) => s.keyID));
    if (verify && signerIds.length === 0) {
      throw new PgpError('PgpSignatureMissing', o.fileName, expectedIds,
        `OpenPGP: ${JSON.stringify(o.fileName)} carries no signature, but one by ${expectedIds.join(', ')} is required; not processed`);
    }
    const partnerIds = hex((o.verificationKeys ?? []).flatMap((k) => k.getKeys().map((s) => s.getKeyID())));
    const byPartner = result.signatures.filter((s) => partnerIds.includes(s.keyID.toHex().toUpperCase()));
    if (verify && byPartner.length === 0) {
      throw new PgpError('PgpSignatureInvalid', o.fileName, signerIds,
        `OpenPGP: ${JSON.stringify(o.fileName)} is signed by key ${signerIds.join(', ')}, which is not among the partners' keys (${expectedIds.join(', ')}); not processed`);
    }
    const readable = Readable.fromWeb(result.data as unknown as NodeReadableStream);
    readable.once('error', fail);
    readable.once('end', () => {
      // streamed signatures settle once the data has been read
      if (!verify) return out.end();
      Promise.any(byPartner.map((s) => s.verified)).then(
        () => out.end(),
        (e: unknown) => fail(e instanceof AggregateError ? e.errors[0] : e),
      );
    });
    out.once('close', () => {
      if (!readable.destroyed) readable.destroy();
    });
    readable.pipe(out, { end: false });
  })().catch(fail);
  return out;
}
