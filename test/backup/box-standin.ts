/**
 * A local stand-in for the few Box API endpoints the Box destination calls: token (client
 * credentials), folder items, folder create (409 on a duplicate), simple upload (multipart),
 * chunked upload sessions (parts checked against their `Digest: sha=` SHA-1 and Content-Range,
 * the commit against the whole file's SHA-1), download, delete. It can answer a chosen request
 * with 429 + Retry-After once. Not Box: only what the SDK needs from it, as Box documents it.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Folder {
  id: string;
  name: string;
  parent?: string;
}
interface StoredFile {
  id: string;
  name: string;
  parent: string;
  data: Buffer;
  sha1: string;
}
interface Session {
  id: string;
  folder: string;
  name: string;
  size: number;
  partSize: number;
  parts: { part_id: string; offset: number; size: number; sha1: string; data: Buffer }[];
}

export interface BoxStandIn {
  url: string;
  folders: Map<string, Folder>;
  files: Map<string, StoredFile>;
  /** every request as `METHOD path` */
  log: string[];
  /** digests the stand-in checked (and refused on a mismatch) */
  checkedDigests: { part: number; commit: number };
  throttleOnce(method: string, pattern: RegExp, retryAfterSeconds: number): void;
  throttled: string[];
  fileAt(path: string[]): StoredFile | undefined;
  close(): Promise<void>;
}

const sha1b64 = (b: Buffer) => crypto.createHash('sha1').update(b).digest('base64');
const sha1hex = (b: Buffer) => crypto.createHash('sha1').update(b).digest('hex');

function parseMultipart(body: Buffer, contentType: string): { attributes?: { name: string; parent: { id: string } }; file?: Buffer } {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1]?.replace(/^"|"$/g, '');
  if (!boundary) return {};
  const sep = Buffer.from(`--${boundary}`);
  const out: { attributes?: { name: string; parent: { id: string } }; file?: Buffer } = {};
  let start = body.indexOf(sep);
  while (start >= 0) {
    const next = body.indexOf(sep, start + sep.length);
    if (next < 0) break;
    const part = body.subarray(start + sep.length + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const content = part.subarray(headerEnd + 4);
    const name = /name="([^"]+)"/.exec(headers)?.[1];
    if (name === 'attributes') out.attributes = JSON.parse(content.toString('utf8')) as { name: string; parent: { id: string } };
    if (name === 'file') out.file = Buffer.from(content);
    start = next;
  }
  return out;
}

export async function startBoxStandIn(opts: { partSize?: number } = {}): Promise<BoxStandIn> {
  const folders = new Map<string, Folder>([['0', { id: '0', name: 'All Files' }]]);
  const files = new Map<string, StoredFile>();
  const sessions = new Map<string, Session>();
  const log: string[] = [];
  const throttles: { method: string; pattern: RegExp; seconds: number }[] = [];
  const throttled: string[] = [];
  const checkedDigests = { part: 0, commit: 0 };
  let nextId = 1000;
  const id = () => String(nextId++);
  let base = '';

  const fileJson = (f: StoredFile) => ({ type: 'file', id: f.id, name: f.name, size: f.data.length, sha1: f.sha1, etag: '0', parent: { type: 'folder', id: f.parent } });
  const folderJson = (f: Folder) => ({ type: 'folder', id: f.id, name: f.name, etag: '0' });
  const error = (res: http.ServerResponse, status: number, code: string, message: string, extra: object = {}) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', status, code, message, ...extra }));
  const json = (res: http.ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', base);
      const p = url.pathname;
      const m = req.method ?? 'GET';
      log.push(`${m} ${p}`);
      const t = throttles.findIndex((x) => x.method === m && x.pattern.test(p));
      if (t >= 0) {
        const [hit] = throttles.splice(t, 1);
        throttled.push(`${m} ${p}`);
        res.writeHead(429, { 'retry-after': String(hit.seconds), 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', status: 429, code: 'rate_limit_exceeded' }));
        return;
      }
      if (p !== '/oauth2/token' && !/^Bearer standin-token$/.test(req.headers.authorization ?? '')) return error(res, 401, 'unauthorized', 'no token');
      let r: RegExpExecArray | null;
      if (m === 'POST' && p === '/oauth2/token') {
        const form = new URLSearchParams(body.toString('utf8'));
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_secret') !== 'standin-secret') return error(res, 400, 'invalid_client', 'bad client credentials');
        return json(res, 200, { access_token: 'standin-token', expires_in: 3600, token_type: 'bearer', restricted_to: [] });
      }
      if (m === 'GET' && (r = /^\/2\.0\/folders\/(\d+)\/items$/.exec(p))) {
        if (!folders.has(r[1])) return error(res, 404, 'not_found', 'no folder');
        const entries = [
          ...[...folders.values()].filter((f) => f.parent === r![1]).map(folderJson),
          ...[...files.values()].filter((f) => f.parent === r![1]).map(fileJson),
        ];
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const limit = Number(url.searchParams.get('limit') ?? 100);
        return json(res, 200, { total_count: entries.length, entries: entries.slice(offset, offset + limit), offset, limit });
      }
      if (m === 'POST' && p === '/2.0/folders') {
        const { name, parent } = JSON.parse(body.toString('utf8')) as { name: string; parent: { id: string } };
        if (!folders.has(parent.id)) return error(res, 404, 'not_found', 'no parent');
        const dup = [...folders.values()].find((f) => f.parent === parent.id && f.name === name);
        if (dup) return error(res, 409, 'item_name_in_use', 'Item with the same name already exists', { context_info: { conflicts: [folderJson(dup)] } });
        const f = { id: id(), name, parent: parent.id };
        folders.set(f.id, f);
        return json(res, 201, folderJson(f));
      }
      if (m === 'POST' && p === '/api/2.0/files/content') {
        const { attributes, file } = parseMultipart(body, req.headers['content-type'] ?? '');
        if (!attributes || !file) return error(res, 400, 'bad_request', 'attributes and file parts required, attributes first');
        if ([...files.values()].some((f) => f.parent === attributes.parent.id && f.name === attributes.name)) return error(res, 409, 'item_name_in_use', 'exists');
        const f = { id: id(), name: attributes.name, parent: attributes.parent.id, data: file, sha1: sha1hex(file) };
        files.set(f.id, f);
        return json(res, 201, { total_count: 1, entries: [fileJson(f)] });
      }
      if (m === 'POST' && p === '/api/2.0/files/upload_sessions') {
        const { folder_id, file_size, file_name } = JSON.parse(body.toString('utf8')) as { folder_id: string; file_size: number; file_name: string };
        if (file_size < 20_000_000) return error(res, 400, 'file_size_too_small', 'upload sessions are for files of 20 MB and more');
        const partSize = opts.partSize ?? 8 * 1024 * 1024;
        const s: Session = { id: id(), folder: folder_id, name: file_name, size: file_size, partSize, parts: [] };
        sessions.set(s.id, s);
        const ep = `${base}/api/2.0/files/upload_sessions/${s.id}`;
        return json(res, 201, {
          type: 'upload_session',
          id: s.id,
          part_size: partSize,
          total_parts: Math.ceil(file_size / partSize),
          num_parts_processed: 0,
          session_expires_at: new Date(Date.now() + 86_400_000).toISOString(),
          session_endpoints: { upload_part: ep, commit: `${ep}/commit`, list_parts: `${ep}/parts`, status: ep, abort: ep, log_event: `${ep}/log` },
        });
      }
      if ((r = /^\/api\/2\.0\/files\/upload_sessions\/(\d+)(\/parts|\/commit)?$/.exec(p))) {
        const s = sessions.get(r[1]);
        if (!s) return error(res, 404, 'not_found', 'no session');
        if (m === 'PUT' && !r[2]) {
          const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
          const digest = String(req.headers.digest ?? '');
          if (!range || Number(range[3]) !== s.size || Number(range[2]) - Number(range[1]) + 1 !== body.length) return error(res, 416, 'range_not_satisfiable', 'bad Content-Range');
          if (digest !== `sha=${sha1b64(body)}`) return error(res, 412, 'sha1_mismatch', 'part digest does not match');
          checkedDigests.part++;
          const part = { part_id: id().padStart(8, '0'), offset: Number(range[1]), size: body.length, sha1: sha1hex(body), data: body };
          s.parts = s.parts.filter((x) => x.offset !== part.offset).concat(part);
          return json(res, 200, { part: { part_id: part.part_id, offset: part.offset, size: part.size, sha1: part.sha1 } });
        }
        if (m === 'GET' && r[2] === '/parts') {
          return json(res, 200, { total_count: s.parts.length, entries: s.parts.map(({ data: _d, ...x }) => x), offset: 0, limit: 1000 });
        }
        if (m === 'POST' && r[2] === '/commit') {
          const data = Buffer.concat([...s.parts].sort((a, b) => a.offset - b.offset).map((x) => x.data));
          if (String(req.headers.digest ?? '') !== `sha=${sha1b64(data)}`) return error(res, 422, 'sha1_mismatch', 'file digest does not match');
          if (data.length !== s.size) return error(res, 400, 'bad_request', 'parts do not add up');
          checkedDigests.commit++;
          const f = { id: id(), name: s.name, parent: s.folder, data, sha1: sha1hex(data) };
          files.set(f.id, f);
          sessions.delete(s.id);
          return json(res, 201, { total_count: 1, entries: [fileJson(f)] });
        }
      }
      if (m === 'GET' && (r = /^\/2\.0\/files\/(\d+)\/content$/.exec(p))) {
        const f = files.get(r[1]);
        if (!f) return error(res, 404, 'not_found', 'no file');
        return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(f.data);
      }
      if (m === 'DELETE' && (r = /^\/2\.0\/files\/(\d+)$/.exec(p))) {
        return files.delete(r[1]) ? res.writeHead(204).end() : error(res, 404, 'not_found', 'no file');
      }
      if (m === 'DELETE' && (r = /^\/2\.0\/folders\/(\d+)$/.exec(p))) {
        const gone = new Set([r[1]]);
        for (let changed = true; changed; ) {
          changed = false;
          for (const f of folders.values()) {
            if (f.parent && gone.has(f.parent) && !gone.has(f.id)) {
              gone.add(f.id);
              changed = true;
            }
          }
        }
        for (const g of gone) folders.delete(g);
        for (const [k, f] of files) if (gone.has(f.parent)) files.delete(k);
        return res.writeHead(204).end();
      }
      return error(res, 404, 'not_found', `the stand-in has no ${m} ${p}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    folders,
    files,
    log,
    checkedDigests,
    throttled,
    throttleOnce: (method, pattern, seconds) => void throttles.push({ method, pattern, seconds }),
    fileAt(pathSegs) {
      let parent = '0';
      for (const seg of pathSegs.slice(0, -1)) {
        const f = [...folders.values()].find((x) => x.parent === parent && x.name === seg);
        if (!f) return undefined;
        parent = f.id;
      }
      return [...files.values()].find((f) => f.parent === parent && f.name === pathSegs[pathSegs.length - 1]);
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
