/** Optional payload encryption (AES-256-GCM) for Temporal history, and the Web UI's codec server. */
export {
  EncryptionCodec,
  PayloadEncryptionError,
  encryptionCodecFor,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  type EncryptionSettings,
  type PayloadEncryptionErrorCode,
} from './encryption';
export { ENCRYPTION_KEYS_ENV, KEY_BYTES, parseKeyRing, type KeyRingEntry } from './keys';
export { dataConverterFor } from './data-converter';
export { createCodecServer, parsePayloadsBody, payloadsToJson, type CodecServerOptions } from './server';
