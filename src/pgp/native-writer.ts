/**
 * The OpenPGP message of an encrypted (and signed) delivery, written here with Node's crypto
 * (OpenSSL) instead of OpenPGP.js's streaming: OpenPGP.js runs the bulk of the work (CFB, the
 * SHA-1 of the integrity check, the signature's hash) through web streams in JavaScript, about
 * 30 MB/s on this machine; here each byte goes through three native calls.
 *
 * What is written (RFC 4880 / RFC 9580, read by every OpenPGP implementation, GnuPG 2.2 on):
 *   PKESK v3 per recipient (made by OpenPGP.js: small, and the public-key algorithms are its job)
 *   SEIPD v1 (tag 18, partial lengths): AES-CFB of
 *     random prefix ‖ [one-pass signature v3] ‖ literal data (tag 11, partial lengths)
 *     ‖ [signature v4 over the literal data] ‖ MDC (SHA-1 of everything before it)
 * The signature is made with the signing key's own material through Node's crypto for the
 * algorithms GnuPG generates (Ed25519 in its legacy EdDSA and RFC 9580 forms, RSA). Anything
 * else (a v6 key, recipients who all ask for SEIPD v2, a cipher other than AES, ECDSA) gets
 * `undefined` from `nativeEncryptionPlan`, and the caller uses OpenPGP.js.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Partial body chunks: 2^16 bytes (one length byte each). */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
/** The message is handed on in buffers of at least this size (and the rest at the end). */
const OUTPUT_BYTES = 256 * 1024;

const TAG = { signature: 2, onePassSignature: 4, literal: 11, seipd: 18, mdc: 19 } as const;
const HASH_SHA256 = 8;
const SIG_BINARY = 0x00;

/** Our signing key for the native writer: cloneable (a KeyObject), so it can go to a worker thread. */
export interface NativeSigner {
  algorithm: number;
  keyId: Buffer;
  fingerprint: Buffer;
  /** 'eddsa-legacy': MPIs R and S; 'ed25519': RFC 9580's native 64 bytes; 'rsa': PKCS #1 v1.5 MPI */
  kind: 'eddsa-legacy' | 'ed25519' | 'rsa';
  key: KeyObject;
}

export interface NativeEncryptionPlan {
  pkesk: Buffer;
  cipher: string;
  sessionKey: Buffer;
  signer?: NativeSigner;
}

/** An MPI: bit count (2 bytes) and the big-endian value without leading zero bytes. */
export function mpi(value: Uint8Array): Buffer {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  const v = Buffer.from(value.subarray(i));
  const bits = v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]));
  return Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), v]);
}

// DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1)
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** The signature material for a SHA-256 digest. */
export function signDigest(s: NativeSigner, digest: Buffer): Buffer {
  if (s.kind === 'rsa') {
    // EMSA-PKCS1-v1_5 over the DigestInfo of the digest (the hash is ours, not OpenSSL's)
    return mpi(crypto.privateEncrypt({ key: s.key, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest])));
  }
  // OpenPGP's EdDSA signs the digest itself (PureEdDSA over the hash value)
  const sig = crypto.sign(null, digest, s.key);
  return s.kind === 'ed25519' ? sig : Buffer.concat([mpi(sig.subarray(0, 32)), mpi(sig.subarray(32))]);
}

/** A packet's definite length, new format. */
function definiteLength(n: number): Buffer {
  if (n < 192) return Buffer.from([n]);
  if (n < 8384) return Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xff;
  b.writeUInt32BE(n, 1);
  return b;
}

const packet = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([0xc0 | tag]), definiteLength(body.length), body]);

/**
 * A packet whose body streams: partial lengths of CHUNK bytes while it grows, the rest with a
 * definite length at the end (a body shorter than CHUNK is one ordinary packet).
 */
class StreamingPacket {
  private parts: Buffer[] = [];
  private size = 0;
  private started = false;
  constructor(
    private readonly tag: number,
    private readonly emit: (b: Buffer) => void,
  ) {}

  write(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.size += b.length;
    while (this.size >= CHUNK) this.emitChunk(Buffer.from([0xe0 | CHUNK_BITS]), this.take(CHUNK));
  }

  end(): void {
    this.emitChunk(definiteLength(this.size), this.take(this.size));
  }

  private emitChunk(length: Buffer, body: Buffer[]): void {
    const head = this.started ? [length] : [Buffer.from([0xc0 | this.tag]), length];
    this.started = true;
    for (const b of head) this.emit(b);
    for (const b of body) this.emit(b);
  }

  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const first = this.parts[0];
      if (first.length <= left) {
        out.push(first);
        this.parts.shift();
        left -= first.length;
      } else {
        out.push(first.subarray(0, left));
        this.parts[0] = first.subarray(left);
        left = 0;
      }
    }
    this.size -= n;
    return out;
  }
}

const CRC24_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 16;
    for (let k = 0; k < 8; k++) c = c & 0x800000 ? (c << 1) ^ 0x1864cfb : c << 1;
    t[i] = c & 0xffffff;
  }
  return t;
})();

/** ASCII armor of a binary message as it streams: base64 in lines of 64, the CRC-24 at the end. */
class Armorer {
  private rest = Buffer.alloc(0);
  private crc = 0xb704ce;
  private started = false;
  constructor(private readonly push: (b: Buffer) => void) {}

  write(b: Buffer): void {
    if (!this.started) {
      this.started = true;
      this.push(Buffer.from('-----BEGIN PGP MESSAGE-----\n\n'));
    }
    let crc = this.crc;
    for (let i = 0; i < b.length; i++) crc = ((crc << 8) ^ CRC24_TABLE[((crc >> 16) ^ b[i]) & 0xff]) & 0xffffff;
    this.crc = crc;
    const all = this.rest.length ? Buffer.concat([this.rest, b]) : b;
    const whole = all.length - (all.length % 48);
    this.rest = Buffer.from(all.subarray(whole));
    if (whole) this.push(Buffer.from(lines(all.subarray(0, whole).toString('base64')), 'latin1'));
  }

  end(): void {
    const crc = Buffer.from([this.crc >> 16, (this.crc >> 8) & 0xff, this.crc & 0xff]).toString('base64');
    const tail = this.rest.length ? lines(this.rest.toString('base64')) : '';
    this.push(Buffer.from(`${tail}=${crc}\n-----END PGP MESSAGE-----\n`, 'latin1'));
  }
}

function lines(b64: string): string {
  let out = '';
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return out;
}

export interface NativeMeasure {
  bytes: number;
  sha256: string;
  md5?: string;
}

export interface NativeEncoder {
  /** the message bytes that this plaintext completes (often none: partial chunks are 64 KiB) */
  update(chunk: Buffer): Buffer[];
  /** the rest of the message: the last literal bytes, the signature, the MDC, the armor's end */
  final(): Buffer[];
  /** the plaintext's size, sha256 (the signature's hash, copied before its trailer), md5 when asked for; after final() */
  measure(): NativeMeasure;
}

/** The OpenPGP message (binary, or armored) of a plaintext fed in pieces, synchronously. */
export function nativeEncoder(plan: NativeEncryptionPlan, o: { armor?: boolean; fileName?: string; md5?: boolean; now?: Date }): NativeEncoder {
  const now = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const plainHash = crypto.createHash('sha256');
  const md5 = o.md5 ? crypto.createHash('md5') : undefined;
  const mdc = crypto.createHash('sha1');
  const cipher = crypto.createCipheriv(plan.cipher, plan.sessionKey, Buffer.alloc(16));
  let bytes = 0;
  let measure: NativeMeasure | undefined;

  let outputs: Buffer[] = [];
  const armorer = o.armor ? new Armorer((b) => outputs.push(b)) : undefined;
  // the message leaves in buffers of ~OUTPUT_BYTES (one copy of each byte): fewer, larger stream
  // chunks, which the SFTP writer cuts into WRITEs mostly without copying again
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  const release = () => {
    if (!gatheredBytes) return;
    const b = gathered.length === 1 ? gathered[0] : Buffer.concat(gathered, gatheredBytes);
    gathered = [];
    gatheredBytes = 0;
    if (armorer) armorer.write(b);
    else outputs.push(b);
  };
  const out = (b: Buffer) => {
    gathered.push(b);
    gatheredBytes += b.length;
    if (gatheredBytes >= OUTPUT_BYTES) release();
  };
  const seipd = new StreamingPacket(TAG.seipd, out);
  const inner = (b: Buffer) => {
    mdc.update(b);
    seipd.write(cipher.update(b));
  };
  const literal = new StreamingPacket(TAG.literal, inner);
  const signer = plan.signer;

  const signature = (s: NativeSigner): Buffer => {
    const created = Buffer.alloc(4);
    created.writeUInt32BE(now);
    const hashed = Buffer.concat([
      Buffer.from([5, 2]), created, // signature creation time
      Buffer.from([22, 33, 4]), s.fingerprint, // issuer fingerprint (v4)
    ]);
    const hashedPart = Buffer.concat([Buffer.from([4, SIG_BINARY, s.algorithm, HASH_SHA256, hashed.length >> 8, hashed.length & 0xff]), hashed]);
    const trailer = Buffer.alloc(6);
    trailer[0] = 4;
    trailer[1] = 0xff;
    trailer.writeUInt32BE(hashedPart.length, 2);
    const h = plainHash.copy();
    h.update(hashedPart);
    h.update(trailer);
    const digest = h.digest();
    const unhashed = Buffer.concat([Buffer.from([9, 16]), s.keyId]); // issuer key id
    return packet(TAG.signature, Buffer.concat([hashedPart, Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]), unhashed, digest.subarray(0, 2), signDigest(s, digest)]));
  };

  // the message's head: session keys, SEIPD v1, the random prefix, the one-pass signature, the literal packet's header
  out(plan.pkesk);
  seipd.write(Buffer.from([1]));
  const prefix = crypto.randomBytes(18);
  prefix[16] = prefix[14];
  prefix[17] = prefix[15];
  inner(prefix);
  if (signer) inner(packet(TAG.onePassSignature, Buffer.concat([Buffer.from([3, SIG_BINARY, HASH_SHA256, signer.algorithm]), signer.keyId, Buffer.from([1])])));
  const name = Buffer.from(o.fileName ?? '', 'utf8').subarray(0, 255);
  const date = Buffer.alloc(4);
  date.writeUInt32BE(now);
  literal.write(Buffer.concat([Buffer.from([0x62, name.length]), name, date])); // 'b'inary

  const take = () => {
    const r = outputs;
    outputs = [];
    return r;
  };
  return {
    update(chunk) {
      bytes += chunk.length;
      plainHash.update(chunk);
      md5?.update(chunk);
      literal.write(chunk);
      return take();
    },
    final() {
      literal.end();
      if (signer) inner(signature(signer));
      inner(Buffer.from([0xc0 | TAG.mdc, 20]));
      seipd.write(cipher.update(mdc.digest()));
      seipd.write(cipher.final());
      seipd.end();
      release();
      armorer?.end();
      measure = { bytes, sha256: plainHash.digest('hex'), ...(md5 ? { md5: md5.digest('hex') } : {}) };
      return take();
    },
    measure() {
      if (!measure) throw new Error('the plaintext measure is known once the encrypted stream has ended');
      return measure;
    },
  };
}

/** `nativeEncoder` as a Transform: plaintext in, the OpenPGP message out. */
export function nativeEncryptTransform(plan: NativeEncryptionPlan, o: { armor?: boolean; fileName?: string; md5?: boolean; now?: Date }): Transform & { measure(): NativeMeasure } {
  let enc: NativeEncoder | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      try {
        enc ??= nativeEncoder(plan, o);
        for (const b of enc.update(chunk)) this.push(b);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        enc ??= nativeEncoder(plan, o);
        for (const b of enc.final()) this.push(b);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  return Object.assign(t, {
    measure() {
      if (!enc) throw new Error('the plaintext measure is known once the encrypted stream has ended');
      return enc.measure();
    },
  });
}
