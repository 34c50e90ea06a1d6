import { createHash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import { CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { getExport, parseRunDate } from '../config';
import type { SftpPool } from '../sftp';
import { runFileStem } from './naming';
import { markerNames } from './completion-markers';
import { listSourceObjects } from '../activities/gcs-listing';
import { withFailureMapping } from '../activities/failures';
import { sftpEndpointFor } from '../activities/sftp-endpoint';
import { FILE_SAMPLE, sampleOf } from './history-limits';
import { compactDate } from './naming';
import type * as PgpDelivery from '../pgp/delivery';
import { lazyFunctions } from '../activities/lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadPgpRecord, pgpConfigOf, verifyPgpDelivery } = lazyFunctions(() => require('../pgp/delivery') as typeof PgpDelivery, ['loadPgpRecord', 'pgpConfigOf', 'verifyPgpDelivery']);

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
  /** exact counts; the lists above hold at most FILE_SAMPLE entries each (history size) */
  counts: { gcs_files: number; sftp_files: number; missing_on_sftp: number; extra_on_sftp: number; size_mismatches: number; checksum_mismatches: number };
  truncated: boolean;
  /** when truncated: the gs:// URI of the full report (every list in full) */
  full_report?: string;
}

type FullVerifyResult = Omit<VerifyResult, 'counts' | 'truncated' | 'full_report'>;

const LISTS = ['gcs_files', 'sftp_files', 'missing_on_sftp', 'extra_on_sftp', 'size_mismatches', 'checksum_mismatches'] as const;

export function createVerifySync(deps: { config: Config; storage: Storage; sftpPool: SftpPool }) {
  return async function verifySync(input: VerifyInput): Promise<VerifyResult> {
    // Liveness through every long step (listings, hashing a 20 GiB file), so the heartbeat timeout
    // holds and a cancellation reaches this attempt.
    heartbeat();
    const ticker = setInterval(() => heartbeat(), deps.config.transfer.heartbeat_every_ms);
    try {
      return await limitForHistory(input, await verifyRun(input));
    } finally {
      clearInterval(ticker);
    }
  };

  /** Counts and a sample in the result; the full lists in a GCS object when they do not fit. */
  async function limitForHistory(input: VerifyInput, full: FullVerifyResult): Promise<VerifyResult> {
    const counts = Object.fromEntries(LISTS.map((k) => [k, full[k].length])) as VerifyResult['counts'];
    const truncated = LISTS.some((k) => full[k].length > FILE_SAMPLE);
    const limited: VerifyResult = { ...full, counts, truncated };
    for (const k of LISTS) (limited as unknown as Record<string, unknown[]>)[k] = sampleOf(full[k] as unknown[]);
    if (truncated) {
      const name = `_bq-sftp/verify/${input.exportName}/${compactDate(input.date)}.json`;
      const bucket = deps.config.gcs.bucket;
      await withFailureMapping('Cloud Storage', () => deps.storage.bucket(bucket).file(name).save(JSON.stringify(full), { resumable: false, contentType: 'application/json' }));
      limited.full_report = `gs://${bucket}/${name}`;
    }
    return limited;
  }

  async function verifyRun(input: VerifyInput): Promise<FullVerifyResult> {
    const signal = Context.current().cancellationSignal;
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
            // a cancellation destroys the read mid-file instead of waiting for the whole file
            const read = addAbortSignal(signal, s.createReadStream(`${destination}/${o.relativeName}`) as Readable);
            try {
              for await (const chunk of read) hash.update(chunk as Buffer);
            } catch (err) {
              if (signal.aborted) throw new CancelledFailure(`cancelled while hashing ${o.relativeName}`);
              throw err;
            }
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
  }
}
