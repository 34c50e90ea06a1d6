/**
 * OpenPGP deliveries of an export (`exports.<name>.pgp`): what the export's transfer and verify
 * call so that each GCS object goes to SFTP encrypted (and signed) while streaming, under
 * `<name><suffix>`, and the run records per file the encrypted name, size and sha256 beside the
 * plaintext's size, sha256 and md5.
 *
 * The record travels in the transfer's heartbeat details (a retried attempt resumes with it), in
 * its summary and manifest, and in a small JSON object in the bucket
 * (`_bq-sftp/pgp/<export>/<date>.json`, outside the run's prefix) that `verifySync` reads: the
 * encrypted size cannot be known from GCS, and only the transfer saw the plaintext go by.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { getExport } from '../config';
import type { RemoteEntry, SftpSession } from '../sftp';
import type { SourceObject } from '../activities/gcs-listing';
import type { PgpDeliveryConfig } from './config';
import { usableDeliveryKeys, type DeliveryKeys } from './keys';
import { encryptingStream, type EncryptingStream } from './streams';


export interface PgpFileRecord {
  /** the GCS object's name relative to the run's prefix */
  plaintext_name: string;
  plaintext_size: number;
  plaintext_sha256: string;
  /** when the export has checksums on */
  plaintext_md5?: string;
  /** what is on SFTP */
  name: string;
  size: number;
  /** sha256 of the encrypted bytes, when the export has checksums on ('' otherwise) */
  sha256: string;
}

export interface PgpRunRecord {
  export: string;
  date: string;
  gcs_path: string;
  suffix: string;
  armor: boolean;
  recipients: string[];
  signer?: string;
  files: PgpFileRecord[];
}

/** What the transfer's summary says about encryption (no key material: fingerprints only). */
export type PgpSummary = Omit<PgpRunRecord, 'export' | 'date' | 'gcs_path'>;

/** Encrypts (and signs) one file of a delivery while it streams. */
export function encryptDelivery(source: Readable, keys: DeliveryKeys, pgp: PgpDeliveryConfig, o: { size: number; fileName: string; md5?: boolean }): EncryptingStream {
  return encryptingStream(source, { encryptionKeys: keys.encryptionKeys, signingKey: keys.signingKey, armor: pgp.armor, fileName: o.fileName, md5: o.md5 });
}

export function pgpRecordObject(exportName: string, date: string): string {
  return `_bq-sftp/pgp/${exportName}/${date}.json`;
}

export function pgpConfigOf(config: Config, exportName: string): PgpDeliveryConfig | undefined {
  return (getExport(config, exportName) as { pgp?: PgpDeliveryConfig }).pgp;
}

/** The name a GCS object gets on SFTP: its own (or templated) name plus the suffix when encrypted. */
export function pgpRemoteName(config: Config, exportName: string, relativeName: string): string {
  const pgp = pgpConfigOf(config, exportName);
  return pgp ? `${relativeName}${pgp.suffix}` : relativeName;
}

export async function loadPgpRecord(storage: Storage, bucket: string, exportName: string, date: string): Promise<PgpRunRecord | undefined> {
  const file = storage.bucket(bucket).file(pgpRecordObject(exportName, date));
  try {
    const [buf] = await file.download();
    return JSON.parse(buf.toString('utf8')) as PgpRunRecord;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export interface PgpDelivery {
  suffix: string;
  remoteName(relativeName: string): string;
  /**
   * Whether a retried attempt may skip this object: a file under the encrypted name whose size is
   * the one recorded for this object's plaintext (heartbeat or earlier record), with the object's
   * update time as mtime or recorded as done by a heartbeat.
   */
  alreadyPublished(o: SourceObject, remote: RemoteEntry | undefined, previousDone: Record<string, number> | undefined): boolean;
  /** wraps a source read stream: what to publish instead */
  encrypt(source: Readable, o: SourceObject): EncryptingStream;
  /** after a successful publish: `written` is what publishStream wrote (encrypted bytes, sha256 of them) */
  published(o: SourceObject, enc: EncryptingStream, written: { bytes: number; sha256: string }): void;
  /** record entries so far (keyed by relative name), to put into the heartbeat details */
  records: Record<string, PgpFileRecord>;
  /** the record object for verifySync, saved once every file is published */
  save(storage: Storage, bucket: string, gcsPath: string, objects: SourceObject[]): Promise<PgpRunRecord>;
  summary(objects: SourceObject[]): PgpSummary;
  /** manifest entries: encrypted name/size/sha256 beside the plaintext's */
  manifestFiles(objects: SourceObject[], md5s: Record<string, string>): Record<string, unknown>[];
}

/**
 * The export's OpenPGP delivery, or undefined when its `pgp` block is not set. Loads and checks
 * the keys first: an expired or unusable key is a ConfigError (permanent) before a byte moves.
 * `previous` are record entries from the last attempt's heartbeat, `earlier` the saved record.
 */
export async function pgpDeliveryFor(
  config: Config,
  exportName: string,
  date: string,
  previous: Record<string, PgpFileRecord> | undefined,
  earlier: () => Promise<PgpRunRecord | undefined>,
): Promise<PgpDelivery | undefined> {
  const pgp = pgpConfigOf(config, exportName);
  if (!pgp) return undefined;
  const checksums = getExport(config, exportName).checksums;
  const keys = await usableDeliveryKeys(config, exportName, pgp);
  const recipients = keys.infos.filter((i) => i.role === 'recipient').map((i) => i.fingerprint);
  const signer = keys.infos.find((i) => i.role === 'signing')?.fingerprint;
  const before = await earlier().catch(() => undefined);
  const known: Record<string, PgpFileRecord> = {
    // an earlier record counts only if it was made with the same suffix and keys
    ...(before && before.suffix === pgp.suffix && before.armor === pgp.armor && before.signer === signer && before.recipients.join() === recipients.join()
      ? Object.fromEntries(before.files.map((f) => [f.plaintext_name, f]))
      : {}),
    ...(previous ?? {}),
  };
  const records: Record<string, PgpFileRecord> = {};
  const remoteName = (n: string) => `${n}${pgp.suffix}`;
  const fileList = (objects: SourceObject[]) => objects.map((o) => records[o.relativeName]).filter((r): r is PgpFileRecord => r !== undefined);
  return {
    suffix: pgp.suffix,
    remoteName,
    records,
    alreadyPublished(o, remote, previousDone) {
      const r = known[o.relativeName];
      if (remote?.type !== 'file' || !r || r.name !== remoteName(o.relativeName)) return false;
      if (r.size !== remote.size || r.plaintext_size !== o.size) return false;
      const sameMtime = o.updated !== undefined && Math.floor(remote.mtime.getTime() / 1000) === Math.floor(o.updated.getTime() / 1000);
      if (!sameMtime && previousDone?.[o.relativeName] !== o.size) return false;
      records[o.relativeName] = r;
      return true;
    },
    encrypt(source, o) {
      return encryptDelivery(source, keys, pgp, { size: o.size, fileName: o.relativeName, md5: checksums });
    },
    published(o, enc, written) {
      const p = enc.plaintext();
      records[o.relativeName] = {
        plaintext_name: o.relativeName,
        plaintext_size: p.bytes,
        plaintext_sha256: p.sha256,
        plaintext_md5: p.md5,
        name: remoteName(o.relativeName),
        size: written.bytes,
        sha256: written.sha256,
      };
    },
    async save(storage, bucket, gcsPath, objects) {
      const record: PgpRunRecord = { export: exportName, date, gcs_path: gcsPath, suffix: pgp.suffix, armor: pgp.armor, recipients, signer, files: fileList(objects) };
      await storage.bucket(bucket).file(pgpRecordObject(exportName, date)).save(JSON.stringify(record, null, 2), { resumable: false, contentType: 'application/json' });
      return record;
    },
    summary(objects) {
      return { suffix: pgp.suffix, armor: pgp.armor, recipients, ...(signer ? { signer } : {}), files: fileList(objects) };
    },
    manifestFiles(objects, md5s) {
      return fileList(objects).map((f) => ({
        name: f.name,
        size: f.size,
        ...(f.sha256 ? { sha256: f.sha256 } : {}),
        plaintext: { name: f.plaintext_name, size: f.plaintext_size, sha256: f.plaintext_sha256, md5: md5s[f.plaintext_name] },
      }));
    },
  };
}

export interface PgpVerifyResult {
  gcs_files: string[];
  sftp_files: string[];
  missing_on_sftp: string[];
  extra_on_sftp: string[];
  size_mismatches: { name: string; gcs_size: number; sftp_size: number }[];
  checksum_mismatches: { name: string; gcs_md5: string; sftp_md5: string }[];
}

/**
 * verifySync for an encrypted delivery: the SFTP folder must hold `<name><suffix>` for every
 * object, each with the encrypted size the transfer recorded; with checksums, the plaintext md5
 * recorded while streaming must equal the object's GCS md5 and the SFTP bytes' sha256 the
 * recorded one (read back). A missing record reports every file as a size mismatch (size -1).
 */
export async function verifyPgpDelivery(
  s: SftpSession,
  o: {
    destination: string;
    stem: string;
    markers: string[];
    objects: SourceObject[];
    record: PgpRunRecord | undefined;
    suffix: string;
    checksums: boolean;
    onProgress?: () => void;
  },
): Promise<PgpVerifyResult> {
  const listing = (await s.exists(o.destination)) ? await s.list(o.destination) : [];
  const expected = new Map(o.objects.map((x) => [`${x.relativeName}${o.suffix}`, x]));
  const byName = new Map((o.record?.files ?? []).map((f) => [f.name, f]));
  const remote = new Map(
    listing
      .filter((e) => e.type === 'file' && (expected.has(e.name) || e.name.startsWith(o.stem)))
      .filter((e) => !o.markers.includes(e.name))
      .map((e) => [e.name, e]),
  );
  const missing = [...expected.keys()].filter((n) => !remote.has(n));
  const extra = [...remote.keys()].filter((n) => !expected.has(n));
  const sizeMismatches: PgpVerifyResult['size_mismatches'] = [];
  const checksumMismatches: PgpVerifyResult['checksum_mismatches'] = [];
  for (const [name, obj] of expected) {
    const e = remote.get(name);
    if (!e) continue;
    const rec = byName.get(name);
    if (!rec || rec.size !== e.size || rec.plaintext_size !== obj.size) {
      sizeMismatches.push({ name, gcs_size: rec?.size ?? -1, sftp_size: e.size });
      continue;
    }
    if (!o.checksums) continue;
    const gcsMd5 = obj.md5 ? Buffer.from(obj.md5, 'base64').toString('hex') : undefined;
    if (gcsMd5 && rec.plaintext_md5 !== undefined && rec.plaintext_md5 !== gcsMd5) {
      checksumMismatches.push({ name, gcs_md5: gcsMd5, sftp_md5: rec.plaintext_md5 });
      continue;
    }
    if (!rec.sha256) continue; // transferred without checksums: no encrypted sha256 to compare with
    const hash = createHash('sha256');
    for await (const chunk of s.createReadStream(`${o.destination}/${name}`)) hash.update(chunk as Buffer);
    const sha = hash.digest('hex');
    // the encrypted bytes differ from what the transfer wrote: report the recorded plaintext md5 against "changed"
    if (sha !== rec.sha256) checksumMismatches.push({ name, gcs_md5: gcsMd5 ?? rec.plaintext_md5 ?? '', sftp_md5: `sha256:${sha} (recorded sha256:${rec.sha256})` });
    o.onProgress?.();
  }
  return {
    gcs_files: o.objects.map((x) => x.relativeName),
    sftp_files: [...remote.keys()].sort(),
    missing_on_sftp: missing,
    extra_on_sftp: extra,
    size_mismatches: sizeMismatches,
    checksum_mismatches: checksumMismatches,
  };
}
