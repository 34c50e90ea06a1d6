import type { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import type { Config } from '../../config';
import { isSftpError, joinRemote, type SftpEndpoint, type SftpPool, type SftpSession } from '../../sftp';
import type { BackupDestination, DestEntry, PublishOpts, Published } from './types';
import { checkSourceRead } from './hashing';

/** Backups to an SFTP server by connection name: pipelined writes, `<name>.partial` renamed into place. */
export class SftpDestination implements BackupDestination {
  readonly kind = 'sftp' as const;
  readonly label: string;

  constructor(
    private readonly pool: SftpPool,
    private readonly endpoint: SftpEndpoint,
    private readonly base: string,
    private readonly settings: { tempSuffix: string; publishMode: 'rename' | 'in_place'; transfer: Config['transfer'] },
  ) {
    this.label = `sftp://${endpoint.host}:${endpoint.port}${base}`;
  }

  private abs(rel: string): string {
    return rel ? joinRemote(this.base, rel) : this.base;
  }

  describe(rel: string): string {
    return `${this.label.replace(this.base, '')}${this.abs(rel)}`;
  }

  private session<T>(fn: (s: SftpSession) => Promise<T>): Promise<T> {
    return this.pool.withSession(this.endpoint, fn);
  }

  list(dir: string): Promise<DestEntry[]> {
    return this.session(async (s) => {
      try {
        const entries = await s.list(this.abs(dir));
        return entries
          .filter((e) => e.type === 'file' || e.type === 'dir')
          .map((e) => ({ name: e.name, type: e.type as 'file' | 'dir', size: e.size, mtime: e.mtime }));
      } catch (err) {
        if (isSftpError(err, 'SftpNoSuchFile')) return [];
        throw err;
      }
    });
  }

  publish(dir: string, name: string, source: Readable, opts: PublishOpts): Promise<Published> {
    return this.session(async (s) => {
      const folder = this.abs(dir);
      await s.mkdirp(folder);
      const r = await s.publishStream(source, folder, name, {
        tempSuffix: this.settings.tempSuffix,
        mode: this.settings.publishMode,
        signal: opts.signal,
        hash: ['sha256', 'md5'],
        mtime: opts.mtime,
        chunkSize: this.settings.transfer.chunk_size,
        concurrency: this.settings.transfer.requests_in_flight,
        onProgress: opts.onProgress,
        verify: ({ bytes, hashes }) => {
          checkSourceRead(name, opts, { bytes, md5: hashes.md5 });
          opts.beforePublish?.();
        },
      });
      return { bytes: r.bytes, sha256: r.hashes.sha256, md5: r.hashes.md5 };
    });
  }

  /**
   * A read stream of a file. The session API has no read stream, so this borrows the SFTP
   * channel of a pooled session for the length of the read.
   */
  read(dir: string, name: string): Promise<Readable> {
    return new Promise<Readable>((resolveStream, reject) => {
      this.session(async (s) => {
        const sftp = (s as unknown as { sftp: SFTPWrapper }).sftp;
        const p = joinRemote(this.abs(dir), name);
        await s.stat(p);
        const stream = sftp.createReadStream(p, { highWaterMark: 256 * 1024 });
        await new Promise<void>((done) => {
          stream.once('close', done).once('error', () => done());
          resolveStream(stream);
        });
      }).catch(reject);
    });
  }

  remove(dir: string, name: string): Promise<void> {
    return this.session((s) => s.remove(joinRemote(this.abs(dir), name)));
  }

  removeFolder(dir: string): Promise<void> {
    return this.session(async (s) => {
      try {
        await s.removeRecursive(this.abs(dir));
      } catch (err) {
        if (!isSftpError(err, 'SftpNoSuchFile')) throw err;
      }
    });
  }

  isTempName(name: string): boolean {
    return this.settings.publishMode === 'rename' && name.endsWith(this.settings.tempSuffix);
  }
}
