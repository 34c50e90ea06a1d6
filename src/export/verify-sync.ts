import { createHash } from 'node:crypto';
import { heartbeat } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { getExport, parseRunDate } from '../config';
import type { SftpPool } from '../sftp';
import { runFileStem } from './naming';
import { markerNames } from './completion-markers';
import { listSourceObjects } from '../activities/gcs-listing';
import { withFailureMapping } from '../activities/failures';
import { sftpEndpointFor } from '../activities/sftp-endpoint';
import { loadPgpRecord, pgpConfigOf, verifyPgpDelivery } from '../pgp/delivery';

export interface VerifyInput {
  exportName: string;
  date: string;
  gcsPath: string;
  /** compare md5 of the SFTP bytes with GCS; defaults to the export's `checksums` setting */
  checksums?: boolean;
}

/** The seed's `/verify` response plus size and checksum mismatches. */
export interface VerifyResult {
  status: 'success' | 'failed';
  in_sync: boolean;
  gcs_files: string[];
  sftp_files: string[];
  missing_on_sftp: string[];
  extra_on_sftp: string[];
  size_mismatches: { name: string; gcs_size: number; sftp_size: number }[];
  checksum_mismatches: { name: string; gcs_md5: string; sftp_md5: string }[];
  checked_checksums: boolean;
  destination: string;
}

export function createVerifySync(deps: { config: Config; storage: Storage; sftpPool: SftpPool }) {
  return async function verifySync(input: VerifyInput): Promise<VerifyResult> {
    const exp = getExport(deps.config, input.exportName);
    const date = parseRunDate(input.date);
    const destination = exp.destination;
    const stem = runFileStem(exp.file_prefix ?? input.exportName, date);
    const markers = markerNames(stem);
    const withChecksums = input.checksums ?? exp.checksums;
    const endpoint = sftpEndpointFor(deps.config, exp.sftp);

    const { bucket, objects } = await withFailureMapping('Cloud Storage', () => listSourceObjects(deps.storage, input.gcsPath));
    // OpenPGP deliveries: compare with what the transfer recorded (encrypted names/sizes, plaintext checksums)
    const pgp = pgpConfigOf(deps.config, input.exportName);
    const pgpRecord = pgp ? await withFailureMapping('Cloud Storage', () => loadPgpRecord(deps.storage, bucket, input.exportName, input.date)) : undefined;
    const gcs = new Map(objects.map((o) => [o.relativeName, o]));

    return withFailureMapping('SFTP', () =>
      deps.sftpPool.withSession(endpoint, async (s) => {
        if (pgp) {
          const r = await verifyPgpDelivery(s, { destination, stem, markers: [markers.manifest, markers.done], objects, record: pgpRecord, suffix: pgp.suffix, checksums: withChecksums, onProgress: () => heartbeat() });
          const ok = !r.missing_on_sftp.length && !r.extra_on_sftp.length && !r.size_mismatches.length && !r.checksum_mismatches.length;
          return { status: ok ? 'success' : 'failed', in_sync: ok, ...r, checked_checksums: withChecksums, destination };
        }
        const listing = (await s.exists(destination)) ? await s.list(destination) : [];
        // This run's files: its own names, plus anything else with its date stem (stale or temp).
        const remote = new Map(
          listing
            .filter((e) => e.type === 'file' && (gcs.has(e.name) || e.name.startsWith(stem)))
            .filter((e) => e.name !== markers.manifest && e.name !== markers.done)
            .map((e) => [e.name, e]),
        );
        const missing = [...gcs.keys()].filter((n) => !remote.has(n));
        const extra = [...remote.keys()].filter((n) => !gcs.has(n));
        const sizeMismatches = [...gcs.values()]
          .filter((o) => remote.has(o.relativeName) && remote.get(o.relativeName)!.size !== o.size)
          .map((o) => ({ name: o.relativeName, gcs_size: o.size, sftp_size: remote.get(o.relativeName)!.size }));

        const checksumMismatches: VerifyResult['checksum_mismatches'] = [];
        if (withChecksums) {
          for (const o of gcs.values()) {
            // only files whose size matches: a size mismatch is already reported
            if (remote.get(o.relativeName)?.size !== o.size || !o.md5) continue;
            const hash = createHash('md5');
            for await (const chunk of s.createReadStream(`${destination}/${o.relativeName}`)) hash.update(chunk as Buffer);
            const sftpMd5 = hash.digest('hex');
            const gcsMd5 = Buffer.from(o.md5, 'base64').toString('hex');
            if (sftpMd5 !== gcsMd5) checksumMismatches.push({ name: o.relativeName, gcs_md5: gcsMd5, sftp_md5: sftpMd5 });
            heartbeat();
          }
        }
        const inSync = !missing.length && !extra.length && !sizeMismatches.length && !checksumMismatches.length;
        return {
          status: inSync ? 'success' : 'failed',
          in_sync: inSync,
          gcs_files: [...gcs.keys()],
          sftp_files: [...remote.keys()].sort(),
          missing_on_sftp: missing,
          extra_on_sftp: extra,
          size_mismatches: sizeMismatches,
          checksum_mismatches: checksumMismatches,
          checked_checksums: withChecksums,
          destination,
        };
      }),
    );
  };
}
