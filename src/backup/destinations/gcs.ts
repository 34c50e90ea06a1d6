import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import type { BackupDestination, DestEntry, PublishOpts, Published } from './types';
import { joinRel } from './types';
import { checkSourceRead, hashingTap } from './hashing';

/**
 * Backups to another GCS bucket (or project). An object becomes visible only when its upload
 * completes, so publishing is atomic without a temp name.
 */
export class GcsDestination implements BackupDestination {
  readonly kind = 'gcs' as const;
  readonly label: string;

  constructor(
    private readonly storage: Storage,
    private readonly bucket: string,
  ) {
    this.label = `gs://${bucket}`;
  }

  describe(rel: string): string {
    return `gs://${this.bucket}/${rel}`;
  }

  async list(dir: string): Promise<DestEntry[]> {
    const prefix = dir ? `${joinRel(dir)}/` : '';
    const [files, , resp] = await this.storage.bucket(this.bucket).getFiles({ prefix, delimiter: '/', autoPaginate: false, maxResults: 10_000 });
    const prefixes = ((resp as { prefixes?: string[] } | undefined)?.prefixes ?? []).map((p) => p.slice(prefix.length).replace(/\/$/, ''));
    const out: DestEntry[] = files
      .filter((f) => !f.name.endsWith('/'))
      .map((f) => ({
        name: f.name.slice(prefix.length),
        type: 'file' as const,
        size: Number(f.metadata.size ?? 0),
        mtime: typeof f.metadata.updated === 'string' ? new Date(f.metadata.updated) : undefined,
        md5: typeof f.metadata.md5Hash === 'string' ? Buffer.from(f.metadata.md5Hash, 'base64').toString('hex') : undefined,
      }));
    for (const p of prefixes) if (p) out.push({ name: p, type: 'dir', size: 0 });
    return out;
  }

  async publish(dir: string, name: string, source: Readable, opts: PublishOpts): Promise<Published> {
    const object = this.storage.bucket(this.bucket).file(joinRel(dir, name));
    const tap = hashingTap(opts.onProgress);
    // Checked before the upload completes: a short read never becomes an object.
    const check = new Transform({
      transform(chunk: Buffer, _e, done) {
        done(null, chunk);
      },
      flush(done) {
        try {
          checkSourceRead(name, { size: opts.size }, { bytes: tap.peekBytes() });
          opts.beforePublish?.();
        } catch (err) {
          done(err as Error);
          return;
        }
        done();
      },
    });
    await pipeline(source, tap.stream, check, object.createWriteStream({ resumable: false, validation: false, contentType: 'application/octet-stream' }), {
      signal: opts.signal,
    });
    return tap.result();
  }

  async read(dir: string, name: string): Promise<Readable> {
    return this.storage.bucket(this.bucket).file(joinRel(dir, name)).createReadStream({ validation: false });
  }

  async remove(dir: string, name: string): Promise<void> {
    await this.storage.bucket(this.bucket).file(joinRel(dir, name)).delete({ ignoreNotFound: true });
  }

  async removeFolder(dir: string): Promise<void> {
    const [files] = await this.storage.bucket(this.bucket).getFiles({ prefix: `${joinRel(dir)}/`, autoPaginate: true });
    for (let i = 0; i < files.length; i += 32) await Promise.all(files.slice(i, i + 32).map((f) => f.delete({ ignoreNotFound: true })));
  }

  isTempName(): boolean {
    return false;
  }
}
