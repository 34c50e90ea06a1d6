/**
 * OpenPGP keys from the config: loaded (armored text, or a key file — armored or binary — from a
 * `*_path` field), decrypted with their passphrase, described (fingerprint, key id, expiry) and
 * checked for the use they are configured for. A key never leaves the worker: errors name the
 * config field and the fingerprint, never key material or a passphrase.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { ConfigError, type Config } from '../config';
import type { PgpDeliveryConfig, PgpInboundConfig } from './config';

export interface KeyInfo {
  /** config path of the key, e.g. `exports.daily.pgp.recipients.0` */
  field: string;
  role: 'recipient' | 'signing' | 'decryption' | 'verification';
  fingerprint: string;
  keyId: string;
  userIds: string[];
  algorithm: string;
  created: Date;
  /** null: never expires */
  expires: Date | null;
}

export function pgpConfigError(field: string, problem: string): ConfigError {
  return new ConfigError({
    type: 'ConfigInvalid',
    message: `OpenPGP key unusable:\n  - ${field}: ${problem}\nFix ${field} and try again (bq-sftp pgp check lists every configured key).`,
    issues: [{ path: field, message: problem }],
    source: field,
  });
}

async function readKeyFile(file: string, field: string): Promise<Uint8Array> {
  const resolved = path.resolve(file.replace(/^~(?=$|\/)/, os.homedir()));
  try {
    return await fs.readFile(resolved);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw pgpConfigError(field, code === 'ENOENT' ? `file not found: ${resolved}` : `cannot read ${resolved} (${code ?? 'error'})`);
  }
}

const isArmored = (b: Uint8Array) => Buffer.from(b.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN PGP');

/** A public key from armored text or from the key file a path names. */
export async function loadPublicKey(source: string, field: string): Promise<openpgp.PublicKey> {
  const bytes = source.includes('-----BEGIN PGP') ? Buffer.from(source) : await readKeyFile(source, field);
  try {
    const key = isArmored(bytes)
      ? await openpgp.readKey({ armoredKey: Buffer.from(bytes).toString('utf8') })
      : await openpgp.readKey({ binaryKey: bytes });
    return key.isPrivate() ? key.toPublic() : key;
  } catch (err) {
    throw pgpConfigError(field, `not a readable OpenPGP public key (${(err as Error).message})`);
  }
}

/** A private key, decrypted with its passphrase. */
export async function loadPrivateKey(source: { text?: string; path?: string }, passphrase: string | undefined, field: string, passphraseField: string): Promise<openpgp.PrivateKey> {
  const where = source.text !== undefined ? field : `${field}_path`;
  const bytes = source.text !== undefined ? Buffer.from(source.text) : await readKeyFile(source.path!, where);
  let key: openpgp.PrivateKey;
  try {
    key = isArmored(bytes)
      ? await openpgp.readPrivateKey({ armoredKey: Buffer.from(bytes).toString('utf8') })
      : await openpgp.readPrivateKey({ binaryKey: bytes });
  } catch (err) {
    throw pgpConfigError(where, `not a readable OpenPGP private key (${(err as Error).message})`);
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) throw pgpConfigError(passphraseField, `required: the private key ${fpr(key)} is protected by a passphrase`);
  streamIteratedS2K(key);
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    throw pgpConfigError(passphraseField, `does not unlock the private key ${fpr(key)} (wrong passphrase)`);
  }
}

const fpr = (k: openpgp.Key) => k.getFingerprint().toUpperCase();

/** OpenPGP hash algorithm ids (RFC 9580 §9.5) → Node's names */
const S2K_HASHES: Record<number, string> = { 1: 'md5', 2: 'sha1', 3: 'ripemd160', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224', 12: 'sha3-256', 14: 'sha3-512' };

/**
 * The iterated-and-salted S2K (RFC 4880 §3.7.1.3): `count` bytes of salt ‖ passphrase repeated,
 * hashed once per digest needed (the n-th with n zero bytes first), fed in 64 KiB pieces.
 */
export function iteratedS2K(hash: string, salt: Uint8Array, passphrase: string, count: number, numBytes: number): Buffer {
  const data = Buffer.concat([salt, Buffer.from(passphrase, 'utf8')]);
  const total = Math.max(count, data.length);
  const block = Buffer.alloc(Math.max(1, Math.ceil(65536 / data.length)) * data.length);
  for (let i = 0; i < block.length; i += data.length) data.copy(block, i);
  const digests: Buffer[] = [];
  let produced = 0;
  for (let prefix = 0; produced < numBytes; prefix++) {
    const h = crypto.createHash(hash);
    if (prefix) h.update(Buffer.alloc(prefix));
    for (let left = total; left > 0; left -= block.length) h.update(left >= block.length ? block : block.subarray(0, left));
    const d = h.digest();
    digests.push(d);
    produced += d.length;
  }
  return Buffer.concat(digests).subarray(0, numBytes);
}

/**
 * OpenPGP.js builds all `count` bytes of an iterated S2K in one array before hashing them
 * (GnuPG's default count is ~65 MB): a transient 65 MB+ in the worker every time a protected key
 * is unlocked. Its S2K objects get `iteratedS2K` instead (same bytes; test/pgp/keys-s2k.test.ts).
 */
function streamIteratedS2K(key: openpgp.PrivateKey): void {
  for (const k of key.getKeys()) {
    const s2k = (k.keyPacket as unknown as { s2k?: { type?: string; algorithm?: number; salt?: Uint8Array; getCount?(): number; produceKey?: unknown } }).s2k;
    const hash = s2k?.algorithm !== undefined ? S2K_HASHES[s2k.algorithm] : undefined;
    if (!s2k || s2k.type !== 'iterated' || !hash || !s2k.salt || typeof s2k.getCount !== 'function') continue;
    const salt = s2k.salt;
    const count = s2k.getCount();
    s2k.produceKey = (passphrase: string, numBytes: number) => Promise.resolve(new Uint8Array(iteratedS2K(hash, salt, passphrase, count, numBytes)));
  }
}

export async function describeKey(key: openpgp.Key, field: string, role: KeyInfo['role']): Promise<KeyInfo> {
  const exp = await key.getExpirationTime().catch(() => null);
  return {
    field,
    role,
    fingerprint: fpr(key),
    keyId: key.getKeyID().toHex().toUpperCase(),
    userIds: key.getUserIDs(),
    algorithm: key.getAlgorithmInfo().algorithm + ('bits' in key.getAlgorithmInfo() && key.getAlgorithmInfo().bits ? String(key.getAlgorithmInfo().bits) : ''),
    created: key.getCreationTime(),
    expires: exp instanceof Date ? exp : null,
  };
}

/**
 * Refuses a key that cannot serve its role now (expired, revoked, no encryption/signing subkey):
 * a config error naming the field, before anything is transferred.
 */
export async function assertUsable(key: openpgp.Key, field: string, role: KeyInfo['role'], now = new Date()): Promise<void> {
  const info = await describeKey(key, field, role);
  if (info.expires && info.expires.getTime() <= now.getTime()) {
    throw pgpConfigError(field, `the ${role} key ${info.fingerprint} (${info.userIds.join(', ') || 'no user id'}) expired on ${info.expires.toISOString()}: get a current key from its owner`);
  }
  try {
    if (role === 'recipient') await key.getEncryptionKey(undefined, now);
    else if (role === 'signing') await key.getSigningKey(undefined, now);
    else if (role === 'decryption') {
      const keys = await (key as openpgp.PrivateKey).getDecryptionKeys(undefined, now);
      if (keys.length === 0) throw new Error('no decryption subkey');
    } else await key.verifyPrimaryKey(now);
  } catch (err) {
    throw pgpConfigError(field, `the ${role} key ${info.fingerprint} cannot be used for this (${(err as Error).message})`);
  }
}

export interface DeliveryKeys {
  encryptionKeys: openpgp.PublicKey[];
  signingKey?: openpgp.PrivateKey;
  infos: KeyInfo[];
}

export interface InboundKeys {
  decryptionKey?: openpgp.PrivateKey;
  verificationKeys: openpgp.PublicKey[];
  infos: KeyInfo[];
}

// Keys are parsed and decrypted once per config object (a worker's config does not change).
const deliveryCache = new WeakMap<object, Map<string, Promise<DeliveryKeys>>>();
const inboundCache = new WeakMap<object, Promise<InboundKeys>>();

/**
 * The keys of a delivery's `pgp` block, loaded (and cached), not yet checked for expiry. `base` is
 * the block's config path (an export's by default; an ETL pipeline's is `etl.pipelines.<name>.pgp`).
 */
export function loadDeliveryKeys(config: Config, exportName: string, pgp: PgpDeliveryConfig, base = `exports.${exportName}.pgp`): Promise<DeliveryKeys> {
  let byName = deliveryCache.get(config);
  if (!byName) deliveryCache.set(config, (byName = new Map()));
  let p = byName.get(base);
  if (!p) {
    p = (async () => {
      const encryptionKeys = await Promise.all(pgp.recipients.map((r, i) => loadPublicKey(r, `${base}.recipients[${i}]`)));
      const infos = await Promise.all(encryptionKeys.map((k, i) => describeKey(k, `${base}.recipients[${i}]`, 'recipient')));
      const wantsSig = pgp.sign ?? (pgp.signing_private_key !== undefined || pgp.signing_private_key_path !== undefined);
      let signingKey: openpgp.PrivateKey | undefined;
      if (wantsSig) {
        signingKey = await loadPrivateKey(
          { text: pgp.signing_private_key, path: pgp.signing_private_key_path },
          pgp.passphrase,
          `${base}.signing_private_key`,
          `${base}.passphrase`,
        );
        const field = pgp.signing_private_key !== undefined ? `${base}.signing_private_key` : `${base}.signing_private_key_path`;
        infos.push(await describeKey(signingKey, field, 'signing'));
      }
      return { encryptionKeys, signingKey, infos };
    })();
    p.catch(() => byName!.delete(base));
    byName.set(base, p);
  }
  return p;
}

/** Delivery keys checked for use now: an expired recipient or signing key is a config error. */
export async function usableDeliveryKeys(config: Config, exportName: string, pgp: PgpDeliveryConfig, now = new Date(), base?: string): Promise<DeliveryKeys> {
  const keys = await loadDeliveryKeys(config, exportName, pgp, base);
  await Promise.all(keys.encryptionKeys.map((k, i) => assertUsable(k, keys.infos[i].field, 'recipient', now)));
  if (keys.signingKey) await assertUsable(keys.signingKey, keys.infos.at(-1)!.field, 'signing', now);
  return keys;
}

/** The top-level `pgp` block's keys, loaded (and cached) and checked for use now. */
export async function usableInboundKeys(config: Config, now = new Date()): Promise<InboundKeys> {
  const pgp = (config as Config & { pgp?: PgpInboundConfig }).pgp;
  if (!pgp) throw pgpConfigError('pgp', 'required to decrypt OpenPGP files: set pgp.decryption_private_key ({"env": …}) or pgp.decryption_private_key_path');
  let p = inboundCache.get(config);
  if (!p) {
    p = (async () => {
      const infos: KeyInfo[] = [];
      let decryptionKey: openpgp.PrivateKey | undefined;
      if (pgp.decryption_private_key !== undefined || pgp.decryption_private_key_path !== undefined) {
        decryptionKey = await loadPrivateKey(
          { text: pgp.decryption_private_key, path: pgp.decryption_private_key_path },
          pgp.passphrase,
          'pgp.decryption_private_key',
          'pgp.passphrase',
        );
        infos.push(await describeKey(decryptionKey, pgp.decryption_private_key !== undefined ? 'pgp.decryption_private_key' : 'pgp.decryption_private_key_path', 'decryption'));
      }
      const verificationKeys = await Promise.all(pgp.verification_keys.map((k, i) => loadPublicKey(k, `pgp.verification_keys[${i}]`)));
      for (const [i, k] of verificationKeys.entries()) infos.push(await describeKey(k, `pgp.verification_keys[${i}]`, 'verification'));
      return { decryptionKey, verificationKeys, infos };
    })();
    p.catch(() => inboundCache.delete(config));
    inboundCache.set(config, p);
  }
  const keys = await p;
  if (!keys.decryptionKey) throw pgpConfigError('pgp.decryption_private_key', 'required to decrypt OpenPGP files: set it ({"env": …}) or pgp.decryption_private_key_path');
  await assertUsable(keys.decryptionKey, keys.infos[0].field, 'decryption', now);
  return keys;
}

/** Every key the config names, for `bq-sftp pgp check`: loaded, described, problems collected (not thrown). */
export async function allConfiguredKeys(config: Config): Promise<{ keys: KeyInfo[]; problems: { field: string; message: string }[] }> {
  const keys: KeyInfo[] = [];
  const problems: { field: string; message: string }[] = [];
  const collect = (err: unknown) => {
    const e = err as ConfigError;
    for (const i of e.issues ?? [{ path: 'pgp', message: String(err) }]) problems.push({ field: i.path, message: i.message });
  };
  const deliveries: [string, PgpDeliveryConfig | undefined][] = [
    ...Object.entries(config.exports).map(([name, exp]): [string, PgpDeliveryConfig | undefined] => [`exports.${name}.pgp`, (exp as { pgp?: PgpDeliveryConfig }).pgp]),
    ...Object.entries(config.etl?.pipelines ?? {}).map(([name, p]): [string, PgpDeliveryConfig | undefined] => [`etl.pipelines.${name}.pgp`, (p as { pgp?: PgpDeliveryConfig }).pgp]),
    ...Object.entries(config.backups ?? {}).map(([name, b]): [string, PgpDeliveryConfig | undefined] => [`backups.${name}.pgp`, b.pgp]),
  ];
  for (const [base, pgp] of deliveries) {
    if (!pgp) continue;
    // each recipient on its own, so one bad key does not hide the others
    for (const [i, r] of pgp.recipients.entries()) {
      const field = `${base}.recipients[${i}]`;
      await loadPublicKey(r, field).then(async (k) => keys.push(await describeKey(k, field, 'recipient')), collect);
    }
    if (pgp.signing_private_key !== undefined || pgp.signing_private_key_path !== undefined) {
      const field = pgp.signing_private_key !== undefined ? `${base}.signing_private_key` : `${base}.signing_private_key_path`;
      await loadPrivateKey({ text: pgp.signing_private_key, path: pgp.signing_private_key_path }, pgp.passphrase, `${base}.signing_private_key`, `${base}.passphrase`).then(
        async (k) => keys.push(await describeKey(k, field, 'signing')),
        collect,
      );
    }
  }
  // a backup's own decryption key (verify and restore read the backup with it)
  for (const [name, b] of Object.entries(config.backups ?? {})) {
    const pgp = b.pgp;
    if (!pgp || (pgp.decryption_private_key === undefined && pgp.decryption_private_key_path === undefined)) continue;
    const base = `backups.${name}.pgp`;
    const field = pgp.decryption_private_key !== undefined ? `${base}.decryption_private_key` : `${base}.decryption_private_key_path`;
    await loadPrivateKey({ text: pgp.decryption_private_key, path: pgp.decryption_private_key_path }, pgp.decryption_passphrase, `${base}.decryption_private_key`, `${base}.decryption_passphrase`).then(
      async (k) => keys.push(await describeKey(k, field, 'decryption')),
      collect,
    );
  }
  const inbound = (config as Config & { pgp?: PgpInboundConfig }).pgp;
  if (inbound) {
    if (inbound.decryption_private_key !== undefined || inbound.decryption_private_key_path !== undefined) {
      const field = inbound.decryption_private_key !== undefined ? 'pgp.decryption_private_key' : 'pgp.decryption_private_key_path';
      await loadPrivateKey({ text: inbound.decryption_private_key, path: inbound.decryption_private_key_path }, inbound.passphrase, 'pgp.decryption_private_key', 'pgp.passphrase').then(
        async (k) => keys.push(await describeKey(k, field, 'decryption')),
        collect,
      );
    }
    for (const [i, v] of inbound.verification_keys.entries()) {
      const field = `pgp.verification_keys[${i}]`;
      await loadPublicKey(v, field).then(async (k) => keys.push(await describeKey(k, field, 'verification')), collect);
    }
  }
  return { keys, problems };
}
