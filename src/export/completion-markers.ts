import { Readable } from 'node:stream';
import type { SftpSession } from '../sftp';
import type { SourceObject } from '../activities/gcs-listing';

/** Names of a run's completion markers; both are written last. */
export function markerNames(stem: string): { manifest: string; done: string } {
  const base = stem.replace(/-$/, '');
  return { manifest: `${base}_MANIFEST.json`, done: `${base}.done` };
}

export async function writeCompletionMarkers(
  s: SftpSession,
  o: {
    destination: string;
    stem: string;
    objects: SourceObject[];
    checksums: Record<string, string>;
    manifest: boolean;
    doneFile: boolean;
    exportName: string;
    date: string;
    /** the manifest's file entries when they are not the objects themselves (OpenPGP deliveries) */
    files?: Record<string, unknown>[];
  },
): Promise<void> {
  const names = markerNames(o.stem);
  if (o.manifest) {
    const body = JSON.stringify(
      {
        export: o.exportName,
        date: o.date,
        files: o.files ?? o.objects.map((f) => ({ name: f.relativeName, size: f.size, md5: o.checksums[f.relativeName] })),
      },
      null,
      2,
    );
    await s.publishStream(Readable.from([Buffer.from(body)]), o.destination, names.manifest, {});
  }
  if (o.doneFile) await s.publishStream(Readable.from([Buffer.from('')]), o.destination, names.done, {});
}
