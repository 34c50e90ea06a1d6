import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import { BoxClient } from 'box-typescript-sdk-gen';
import { BoxCcgAuth, CcgConfig, BoxJwtAuth, JwtConfig } from 'box-typescript-sdk-gen/lib/box/index';
import { NetworkSession } from 'box-typescript-sdk-gen/lib/networking/network.generated';
import { BaseUrls } from 'box-typescript-sdk-gen/lib/networking/baseUrls.generated';
import { BoxRetryStrategy } from 'box-typescript-sdk-gen/lib/networking/retries.generated';
import type { FetchOptions } from 'box-typescript-sdk-gen/lib/networking/fetchOptions.generated';
import type { FetchResponse } from 'box-typescript-sdk-gen/lib/networking/fetchResponse.generated';
import type { BackupDestinationConfig } from '../config';
import type { BackupDestination, DestEntry, PublishOpts, Published } from './types';
import { joinRel } from './types';
import { hashingTap } from './hashing';

/**
 * Box's retry strategy, honouring `Retry-After` on a 429. The SDK (1.19) looks the header up as
 * `Retry-After` in a header object whose keys are lower-cased, so it never sees it and backs off
 * exponentially instead.
 */
export class RetryAfterStrategy extends BoxRetryStrategy {
  constructor(maxAttempts = 6) {
    super({ maxAttempts, retryBaseInterval: 1 });
  }

  override retryAfter(fetchOptions: FetchOptions, fetchResponse: FetchResponse, attemptNumber: number): number {
    const h = fetchResponse.headers as Record<string, string | undefined>;
    const value = h['retry-after'] ?? h['Retry-After'];
    if (value !== undefined && Number.isFinite(parseFloat(value))) return Math.min(300, Math.max(0, parseFloat(value)));
    return super.retryAfter(fetchOptions, fetchResponse, attemptNumber);
  }
}

interface BoxItem {
  id: string;
  type: string;
  name?: string;
  size?: number;
  sha1?: string;
  modifiedAt?: { value?: Date } | string;
}

function boxStatus(err: unknown): number | undefined {
  const e = err as { responseInfo?: { statusCode?: number } };
  return e?.responseInfo?.statusCode;
}

/**
 * Backups to Box.com with Box's official TypeScript SDK: client-credentials or JWT auth from the
 * worker's config, the folder path created under `folder_id`, files above the chunked threshold
 * (default 50 MB) through an upload session (parts with SHA-1 digests, committed with the whole
 * file's SHA-1), 429s retried after `Retry-After`. A Box file appears only once its upload (or
 * session commit) completes, so readers never see half a file.
 *
 * Tested against a local stand-in of the endpoints it calls, never against Box itself.
 */
export class BoxDestination implements BackupDestination {
  readonly kind = 'box' as const;
  readonly label: string;
  private readonly client: BoxClient;
  private readonly folders = new Map<string, string>();
  private readonly threshold: number;

  constructor(cfg: BackupDestinationConfig) {
    this.label = `box://folder/${cfg.folder_id}`;
    this.threshold = cfg.chunked_threshold_bytes;
    this.folders.set('', cfg.folder_id);
    const auth =
      cfg.auth === 'jwt'
        ? new BoxJwtAuth({ config: JwtConfig.fromConfigJsonString(cfg.jwt_config_secret ?? '') })
        : new BoxCcgAuth({ config: new CcgConfig({ clientId: cfg.client_id ?? '', clientSecret: cfg.client_secret ?? '', enterpriseId: cfg.enterprise_id, userId: cfg.user_id }) });
    let session = new NetworkSession({}).withRetryStrategy(new RetryAfterStrategy());
    if (cfg.base_url || cfg.upload_url) {
      const base = (cfg.base_url ?? 'https://api.box.com').replace(/\/+$/, '');
      session = session.withCustomBaseUrls(
        new BaseUrls({ baseUrl: base, uploadUrl: `${(cfg.upload_url ?? base).replace(/\/+$/, '')}/api`, oauth2Url: `${base}/oauth2` }),
      );
    }
    this.client = new BoxClient({ auth, networkSession: session });
  }

  describe(rel: string): string {
    return `${this.label}/${rel}`;
  }

  private async items(folderId: string): Promise<BoxItem[]> {
    const out: BoxItem[] = [];
    let offset = 0;
    for (;;) {
      const page = await this.client.folders.getFolderItems(folderId, { queryParams: { fields: ['name', 'size', 'sha1', 'modified_at'], limit: 1000, offset } });
      const entries = (page.entries ?? []) as unknown as BoxItem[];
      out.push(...entries);
      offset += entries.length;
      if (entries.length === 0 || offset >= (page.totalCount ?? 0)) return out;
    }
  }

  /** The id of a folder path (created when `create`), or undefined. */
  private async folderId(rel: string, create: boolean): Promise<string | undefined> {
    const path = joinRel(rel);
    const known = this.folders.get(path);
    if (known) return known;
    const segs = path.split('/');
    const parentPath = segs.slice(0, -1).join('/');
    const parent = await this.folderId(parentPath, create);
    if (!parent) return undefined;
    const name = segs[segs.length - 1];
    const found = (await this.items(parent)).find((i) => i.type === 'folder' && i.name === name);
    let id = found?.id;
    if (!id && create) {
      try {
        id = (await this.client.folders.createFolder({ name, parent: { id: parent } })).id;
      } catch (err) {
        // another writer created it meanwhile: Box answers 409 naming the existing folder
        if (boxStatus(err) !== 409) throw err;
        id = (await this.items(parent)).find((i) => i.type === 'folder' && i.name === name)?.id;
        if (!id) throw err;
      }
    }
    if (id) this.folders.set(path, id);
    return id;
  }

  async list(dir: string): Promise<DestEntry[]> {
    const id = await this.folderId(dir, false);
    if (!id) return [];
    return (await this.items(id))
      .filter((i) => i.type === 'file' || i.type === 'folder')
      .map((i) => ({ name: i.name ?? '', type: i.type === 'folder' ? ('dir' as const) : ('file' as const), size: Number(i.size ?? 0), sha1: i.sha1 }));
  }

  async publish(dir: string, name: string, source: Readable, opts: PublishOpts): Promise<Published> {
    const folder = (await this.folderId(dir, true))!;
    const existing = (await this.items(folder)).find((i) => i.type === 'file' && i.name === name);
    if (existing) await this.client.files.deleteFileById(existing.id);
    const tap = hashingTap(opts.onProgress);
    source.once('error', (e) => tap.stream.destroy(e));
    const body = source.pipe(tap.stream);
    const size = opts.size;
    if (size !== undefined && size >= this.threshold) {
      await this.client.chunkedUploads.uploadBigFile(body, name, size, folder);
    } else {
      // small files are buffered so that a retried request (429) can send them again
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      await this.client.uploads.uploadFile({ attributes: { name, parent: { id: folder } }, file: Readable.from([Buffer.concat(chunks)]) });
    }
    const r = tap.result();
    if (size !== undefined && r.bytes !== size) {
      throw ApplicationFailure.create({ type: 'SourceSizeMismatch', message: `read ${r.bytes} bytes of ${name} but the source has ${size}` });
    }
    return r;
  }

  async read(dir: string, name: string): Promise<Readable> {
    const folder = await this.folderId(dir, false);
    const file = folder ? (await this.items(folder)).find((i) => i.type === 'file' && i.name === name) : undefined;
    if (!file) throw new Error(`${this.describe(joinRel(dir, name))} does not exist`);
    const stream = await this.client.downloads.downloadFile(file.id);
    if (!stream) throw new Error(`Box returned no content for ${this.describe(joinRel(dir, name))}`);
    return stream as unknown as Readable;
  }

  async remove(dir: string, name: string): Promise<void> {
    const folder = await this.folderId(dir, false);
    const file = folder ? (await this.items(folder)).find((i) => i.type === 'file' && i.name === name) : undefined;
    if (file) await this.client.files.deleteFileById(file.id);
  }

  async removeFolder(dir: string): Promise<void> {
    const id = await this.folderId(dir, false);
    if (!id) return;
    await this.client.folders.deleteFolderById(id, { queryParams: { recursive: true } });
    for (const k of [...this.folders.keys()]) if (k === joinRel(dir) || k.startsWith(`${joinRel(dir)}/`)) this.folders.delete(k);
  }

  isTempName(): boolean {
    return false;
  }
}
