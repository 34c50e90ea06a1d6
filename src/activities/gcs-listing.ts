import type { Storage } from '@google-cloud/storage';
import { parseGcsUri } from '../gcs/client';

export interface SourceObject {
  /** full object name in the bucket */
  objectName: string;
  /** name relative to the run's prefix: what lands on SFTP */
  relativeName: string;
  size: number;
  md5?: string; // base64, as GCS reports it
  /** when the object was last written; published files get it as their mtime */
  updated?: Date;
}

/** One listing of every object under a gs:// prefix (paginated by the client, never per file). */
export async function listSourceObjects(storage: Storage, gcsPath: string): Promise<{ bucket: string; prefix: string; objects: SourceObject[] }> {
  const { bucket, prefix } = parseGcsUri(gcsPath);
  const normalized = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const [files] = await storage.bucket(bucket).getFiles({ prefix: normalized, autoPaginate: true });
  const objects = files
    .filter((f) => !f.name.endsWith('/'))
    .map((f) => ({
      objectName: f.name,
      relativeName: f.name.slice(normalized.length),
      size: Number(f.metadata.size ?? 0),
      md5: typeof f.metadata.md5Hash === 'string' ? f.metadata.md5Hash : undefined,
      updated: typeof f.metadata.updated === 'string' ? new Date(f.metadata.updated) : undefined,
    }))
    .sort((a, b) => a.relativeName.localeCompare(b.relativeName));
  return { bucket, prefix: normalized, objects };
}
