/**
 * OpenPGP for backups (`backups.<name>.pgp`): each backup file is encrypted to the recipients and
 * to our own decryption key (so that verify and restore can read it back) and signed with our
 * signing key while it streams to the destination; verify and restore decrypt it and check our
 * signature while it streams back. The keys are the export's (src/pgp/keys.ts), checked before
 * anything runs: an expired or unusable key is a ConfigError naming its field.
 */
import type { Readable } from 'node:stream';
import type * as openpgp from 'openpgp';
import type { Config } from '../config';
import type { PgpBackupConfig, PgpInboundConfig } from './config';
import { encryptDelivery } from './delivery';
import { assertUsable, describeKey, loadPrivateKey, usableDeliveryKeys, usableInboundKeys, type DeliveryKeys, type KeyInfo } from './keys';
import { decryptingStream, type EncryptingStream } from './streams';

export { isPgpError } from './streams';

/** What a backup's manifest says about its encryption (fingerprints only, never key material). */
export interface BackupPgpSummary {
  suffix: string;
  armor: boolean;
  /** every key the files are encrypted to: the recipients' and our decryption key's */
  recipients: string[];
  signer?: string;
}

/** The keys that read a backup back. */
export interface BackupReadKeys {
  decryptionKey: openpgp.PrivateKey;
  /** our signing key's public part: a signed backup must carry a good signature by it */
  verificationKeys: openpgp.PublicKey[];
}

export interface BackupPgpKeys extends BackupReadKeys {
  /** recipients plus our decryption key's public part; the signing key */
  delivery: DeliveryKeys;
  summary: BackupPgpSummary;
}

export const backupPgpBase = (backupName: string) => `backups.${backupName}.pgp`;

const has = (v: unknown) => v !== undefined && v !== '';
const decryptionCache = new WeakMap<object, Map<string, Promise<{ key: openpgp.PrivateKey; info: KeyInfo }>>>();

/** The backup's own decryption key, or the top-level `pgp` block's; checked for use now. */
async function backupDecryptionKey(config: Config, backupName: string, pgp: PgpBackupConfig, now: Date): Promise<{ key: openpgp.PrivateKey; info: KeyInfo }> {
  const base = backupPgpBase(backupName);
  if (!has(pgp.decryption_private_key) && !has(pgp.decryption_private_key_path)) {
    const inbound = await usableInboundKeys(config, now);
    return { key: inbound.decryptionKey!, info: inbound.infos[0] };
  }
  let byName = decryptionCache.get(config);
  if (!byName) decryptionCache.set(config, (byName = new Map()));
  let p = byName.get(base);
  if (!p) {
    p = (async () => {
      const key = await loadPrivateKey(
        { text: pgp.decryption_private_key, path: pgp.decryption_private_key_path },
        pgp.decryption_passphrase,
        `${base}.decryption_private_key`,
        `${base}.decryption_passphrase`,
      );
      const field = has(pgp.decryption_private_key) ? `${base}.decryption_private_key` : `${base}.decryption_private_key_path`;
      return { key, info: await describeKey(key, field, 'decryption') };
    })();
    p.catch(() => byName.delete(base));
    byName.set(base, p);
  }
  const d = await p;
  await assertUsable(d.key, d.info.field, 'decryption', now);
  return d;
}

/**
 * Every key of a backup's `pgp` block, loaded and checked for use now (recipients, signing key,
 * decryption key): a ConfigError naming the field when one is expired, unreadable or locked.
 */
export async function usableBackupKeys(config: Config, backupName: string, pgp: PgpBackupConfig, now = new Date()): Promise<BackupPgpKeys> {
  const base = backupPgpBase(backupName);
  const delivery = await usableDeliveryKeys(config, backupName, pgp, now, base);
  const own = await backupDecryptionKey(config, backupName, pgp, now);
  // the files are encrypted to our own key too: only then can verify and restore read them
  const ownPublic = own.key.toPublic();
  await assertUsable(ownPublic, own.info.field, 'recipient', now);
  const recipients = delivery.encryptionKeys.map((k) => k.getFingerprint().toUpperCase());
  const encryptionKeys = recipients.includes(own.info.fingerprint) ? delivery.encryptionKeys : [...delivery.encryptionKeys, ownPublic];
  const signer = delivery.signingKey ? delivery.signingKey.getFingerprint().toUpperCase() : undefined;
  return {
    delivery: { ...delivery, encryptionKeys },
    decryptionKey: own.key,
    verificationKeys: delivery.signingKey ? [delivery.signingKey.toPublic()] : [],
    summary: {
      suffix: pgp.suffix,
      armor: pgp.armor,
      recipients: encryptionKeys.map((k) => k.getFingerprint().toUpperCase()),
      ...(signer ? { signer } : {}),
    },
  };
}

/**
 * The keys verify and restore read an encrypted backup with: the backup's own block, or (the block
 * removed since) the top-level `pgp` decryption key, without a signature check.
 */
export async function backupReadKeys(config: Config, backupName: string, pgp: PgpBackupConfig | undefined): Promise<BackupReadKeys> {
  if (pgp) return usableBackupKeys(config, backupName, pgp);
  const inbound = await usableInboundKeys(config as Config & { pgp?: PgpInboundConfig });
  return { decryptionKey: inbound.decryptionKey!, verificationKeys: [] };
}

/** One backup file, encrypted (and signed) while it streams; measures the plaintext (bytes, sha256, md5). */
export function encryptBackupFile(source: Readable, keys: BackupPgpKeys, pgp: PgpBackupConfig, o: { size: number; fileName: string }): EncryptingStream {
  return encryptDelivery(source, keys.delivery, pgp, { size: o.size, fileName: o.fileName, md5: true });
}

/**
 * One backup file decrypted while it streams back. With `signed` (the manifest names a signer)
 * and our signing key configured, a missing or foreign signature fails the stream (PgpError,
 * permanent, naming the file and the key id) at its end.
 */
export function decryptBackupFile(source: Readable, keys: BackupReadKeys, o: { fileName: string; signed: boolean }): Readable {
  return decryptingStream(source, { fileName: o.fileName, decryptionKey: keys.decryptionKey, verificationKeys: o.signed ? keys.verificationKeys : [] });
}
