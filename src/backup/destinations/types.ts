import type { Readable } from 'node:stream';

/** One file or folder at a backup destination. */
export interface DestEntry {
  name: string;
  type: 'file' | 'dir';
  size: number;
  mtime?: Date;
  /** hex, where the destination keeps one (GCS) */
  md5?: string;
  /** hex, where the destination keeps one (Box) */
  sha1?: string;
}

export interface PublishOpts {
  signal: AbortSignal;
  onProgress: (bytes: number) => void;
  /** the source's size: checked before the file is published */
  size?: number;
  /** the source's md5 (hex), checked before the file is published where known */
  md5?: string;
  /** given to the file where the destination keeps it (SFTP), so a rerun can recognise it */
  mtime?: Date;
  /**
   * called once the whole source was read, before the file becomes visible: throw to publish
   * nothing (an encrypted file checks its plaintext's size and md5 here). SFTP and GCS; not Box,
   * which takes no encrypted backups (src/backup/config.ts)
   */
  beforePublish?: () => void;
}

export interface Published {
  bytes: number;
  sha256: string;
  md5: string;
}

/**
 * Where backup files go. Paths are relative to the destination's base (`a/b/c`, no leading or
 * trailing slash). `publish` is atomic: a reader sees the whole file or none of it.
 */
export interface BackupDestination {
  readonly kind: 'sftp' | 'gcs' | 'box';
  /** for people: `sftp://host:port/base`, `gs://bucket`, `box://folder/<id>` */
  readonly label: string;
  /** the full location of a relative path, for people */
  describe(path: string): string;
  /** entries of a folder; [] when the folder does not exist */
  list(dir: string): Promise<DestEntry[]>;
  publish(dir: string, name: string, source: Readable, opts: PublishOpts): Promise<Published>;
  read(dir: string, name: string): Promise<Readable>;
  remove(dir: string, name: string): Promise<void>;
  /** removes a folder and everything in it (missing: nothing to do) */
  removeFolder(dir: string): Promise<void>;
  /** temp files an interrupted upload may leave (SFTP `.partial`) */
  isTempName(name: string): boolean;
}

export function joinRel(...parts: string[]): string {
  return parts.flatMap((p) => p.split('/')).filter((s) => s !== '').join('/');
}
