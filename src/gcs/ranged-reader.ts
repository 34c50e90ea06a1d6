/**
 * Reads Cloud Storage objects (whole or a byte range) with one plain HTTP GET on a keep-alive
 * connection. @google-cloud/storage's createReadStream costs ~1 ms of CPU per object before the
 * first byte (request building, retry wrappers, several stream layers); for thousands of small
 * objects that is most of our process's time, and ranged reads of one big object need exactly
 * this request with a Range header. The listing and everything else still use the official client.
 */
import http from 'node:http';
import https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';

export interface ByteRange {
  /** first byte (default 0) */
  start?: number;
  /** last byte, inclusive (default: the end of the object) */
  end?: number;
}

/** Opens a read stream of one object, or of a byte range of it; errors arrive on the stream. */
export type ObjectReader = (bucket: string, objectName: string, range?: ByteRange) => Readable;

/** An HTTP error from Cloud Storage; `code` is the status, like the official client's ApiError. */
export class GcsHttpError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'GcsHttpError';
  }
}

export interface StorageInternals {
  apiEndpoint?: unknown;
  customEndpoint?: boolean;
  useAuthWithCustomEndpoint?: boolean;
  authClient?: { getRequestHeaders(url?: string): Promise<unknown> };
}

export const keepAliveAgents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, scheduling: 'lifo' }),
};

/** google-auth-library returns a plain object (v9) or a fetch Headers (v10). */
export function plainHeaders(h: unknown): Record<string, string> {
  if (!h || typeof h !== 'object') return {};
  const out: Record<string, string> = {};
  const maybe = h as { forEach?: (cb: (v: string, k: string) => void) => void; get?: unknown };
  if (typeof maybe.forEach === 'function' && typeof maybe.get === 'function') maybe.forEach((v, k) => (out[k] = v));
  else for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The reader for `storage`: plain HTTP when it is a real Storage client (emulator or Cloud
 * Storage, authenticated like the client would), otherwise (a stand-in in tests) the client's
 * own createReadStream.
 */
export function objectReaderFor(storage: Storage): ObjectReader {
  const s = storage as unknown as StorageInternals;
  if (typeof s.apiEndpoint !== 'string' || !s.authClient) {
    return (bucket, name, range) => storage.bucket(bucket).file(name).createReadStream({ validation: false, ...range });
  }
  const base = `${s.apiEndpoint.replace(/\/+$/, '')}/storage/v1`;
  const needsAuth = !s.customEndpoint || s.useAuthWithCustomEndpoint === true;
  const authClient = s.authClient;
  return (bucket, name, range) => {
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    const url = new URL(`${base}/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`);
    const ranged = range !== undefined && (range.start !== undefined || range.end !== undefined);
    const start = range?.start ?? 0;
    let req: http.ClientRequest | undefined;
    out.on('close', () => req?.destroy());
    const go = async () => {
      const headers: Record<string, string> = needsAuth ? plainHeaders(await authClient.getRequestHeaders(url.toString())) : {};
      // no Accept-Encoding: Cloud Storage then serves a gzip-encoded object decompressed, as the client does
      if (ranged) headers.range = `bytes=${start}-${range.end ?? ''}`;
      if (out.destroyed) return;
      const lib = url.protocol === 'https:' ? https : http;
      req = lib.get(url, { headers, agent: keepAliveAgents[url.protocol as 'http:' | 'https:'] }, (res) => {
        const status = res.statusCode ?? 0;
        const ok = status === 206 || (status === 200 && (!ranged || start === 0));
        if (!ok) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body.length < 2000 ? (body += d) : undefined));
          res.on('end', () => {
            const detail = /"message"\s*:\s*"([^"]+)"/.exec(body)?.[1] ?? body.trim().slice(0, 200);
            out.destroy(new GcsHttpError(`reading gs://${bucket}/${name}${ranged ? ` bytes ${start}-${range.end ?? ''}` : ''} got HTTP ${status}${detail ? `: ${detail}` : ''}`, status));
          });
          res.on('error', (e) => out.destroy(e));
          return;
        }
        if (res.headers['content-encoding'] && res.headers['content-encoding'] !== 'identity') {
          res.destroy();
          out.destroy(new GcsHttpError(`gs://${bucket}/${name} was served with Content-Encoding ${res.headers['content-encoding']}, which this reader does not decode`, 415));
          return;
        }
        res.on('error', (e) => out.destroy(e));
        // a body cut short ends the response with `aborted`, not always an error
        res.on('aborted', () => out.destroy(Object.assign(new Error(`the response for gs://${bucket}/${name} was cut short`), { code: 'ECONNRESET' })));
        res.pipe(out);
      });
      req.on('error', (e) => out.destroy(e));
    };
    go().catch((e: unknown) => out.destroy(e as Error));
    return out;
  };
}
