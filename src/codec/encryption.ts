/**
 * AES-256-GCM payload codec: every payload Temporal stores (workflow and activity inputs,
 * results, heartbeat details, signals, queries, memo) is replaced by an encrypted one, so history
 * holds ciphertext only. The key id travels in the payload's metadata, so after a rotation the
 * old keys keep decoding old histories while the new key encrypts.
 *
 * Encrypted payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`;
 * data = 12-byte IV ‖ AES-256-GCM ciphertext of the whole original Payload (protobuf) ‖ 16-byte tag.
 */
import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ENCRYPTION_KEYS_ENV, KEY_BYTES, parseKeyRing } from './keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type PayloadEncryptionErrorCode =
  /** the payload names a key id this process has no key for */
  | 'UnknownEncryptionKey'
  /** the authentication tag does not match: altered data, or other key material under that id */
  | 'PayloadDecryptionFailed'
  /** marked as encrypted but without a key id, or too short to hold IV and tag */
  | 'MalformedEncryptedPayload';

/** A payload could not be decrypted. The message names the key id, never key material. */
export class PayloadEncryptionError extends Error {
  override readonly name = 'PayloadEncryptionError';
  constructor(
    readonly code: PayloadEncryptionErrorCode,
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
  }
}

/** The `encryption` config block: `keys` is the key ring (`id:base64,...`), `key_id` the one that encrypts. */
export interface EncryptionSettings {
  key_id?: string;
  keys?: string;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;

  /** `keys`: key id → 32 bytes; `keyId`: the key that encrypts (all of them decrypt). */
  constructor(keys: ReadonlyMap<string, Uint8Array>, readonly keyId: string) {
    const copy = new Map<string, Buffer>();
    for (const [id, key] of keys) {
      if (key.length !== KEY_BYTES) throw new Error(`encryption key "${id}" must be ${KEY_BYTES} bytes, got ${key.length}`);
      copy.set(id, Buffer.from(key));
    }
    if (!copy.has(keyId)) throw new Error(`encryption key id "${keyId}" is not among the keys (${[...copy.keys()].join(', ') || 'none'})`);
    this.keys = copy;
  }

  /** From the key ring text (`k2:<base64>,k1:<base64>`); without `keyId` the first key listed encrypts. */
  static fromKeyRing(ring: string, keyId?: string): EncryptionCodec {
    const { entries, problems } = parseKeyRing(ring);
    if (problems.length > 0) throw new Error(`${ENCRYPTION_KEYS_ENV}: ${problems.join('; ')}`);
    return new EncryptionCodec(new Map(entries.map((e) => [e.id, Buffer.from(e.base64, 'base64')])), keyId ?? entries[0].id);
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  encrypt(payload: Payload): Payload {
    const key = this.keys.get(this.keyId)!;
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv(ALGORITHM, key, iv);
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.keyId) },
      data: sealed,
    };
  }

  /** Payloads that are not `binary/encrypted` come back untouched (e.g. written before encryption was on). */
  decrypt(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) {
      throw new PayloadEncryptionError('MalformedEncryptedPayload', `cannot decrypt a payload: it is ${ENCRYPTED_ENCODING} but has no ${KEY_ID_METADATA}`);
    }
    const key = this.keys.get(keyId);
    if (!key) {
      throw new PayloadEncryptionError(
        'UnknownEncryptionKey',
        `cannot decrypt a payload encrypted with key "${keyId}": no key with that id is configured ` +
          `(configured: ${this.keyIds.join(', ')}); add it to ${ENCRYPTION_KEYS_ENV}`,
        keyId,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadEncryptionError('MalformedEncryptedPayload', `cannot decrypt a payload encrypted with key "${keyId}": it is too short to be one`, keyId);
    }
    let plain: Buffer;
    try {
      const decipher = crypto.createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadEncryptionError(
        'PayloadDecryptionFailed',
        `cannot decrypt a payload encrypted with key "${keyId}": authentication failed ` +
          `(the data was altered, or the key configured as "${keyId}" is not the one it was encrypted with)`,
        keyId,
      );
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/** The codec for the `encryption` config block, or undefined when no keys are configured. */
export function encryptionCodecFor(settings: EncryptionSettings | undefined): EncryptionCodec | undefined {
  return settings?.keys ? EncryptionCodec.fromKeyRing(settings.keys, settings.key_id) : undefined;
}
