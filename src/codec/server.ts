/**
 * A codec server for the Temporal Web UI and CLI (Temporal's remote codec protocol):
 * `POST /decode` and `POST /encode` take `{"payloads":[{"metadata":{"k":"<base64>"},"data":"<base64>"}]}`
 * and answer the same shape. The UI calls it from the browser, so it answers CORS for the UI's
 * origin (with credentials, and the `X-Namespace` / `Authorization` headers the UI sends).
 *
 * It decrypts for whoever can reach it: bind it to loopback or put it behind your own auth.
 */
import http from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { PayloadEncryptionError } from './encryption';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call it, e.g. `http://127.0.0.1:8233`. Requests without an Origin (curl, CLI) are always served. */
  allowedOrigins: readonly string[];
  maxBodyBytes?: number;
  /** One line per failed request (never payload contents). */
  log?: (line: string) => void;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DEFAULT_MAX_BODY = 64 * 1024 * 1024;

function base64Field(v: unknown, where: string): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) throw new BadRequest(400, `${where} must be a base64 string`);
  return Buffer.from(v, 'base64');
}

/** The request body → payloads, or a 400 naming what is wrong. */
export function parsePayloadsBody(text: string): Payload[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest(400, 'the body must be JSON: {"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]}');
  }
  const payloads = (body as { payloads?: unknown } | null)?.payloads;
  if (body === null || typeof body !== 'object' || !Array.isArray(payloads)) {
    throw new BadRequest(400, 'the body must be an object with a "payloads" list');
  }
  return payloads.map((p: unknown, i) => {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new BadRequest(400, `payloads[${i}] must be an object`);
    const { metadata, data } = p as JsonPayload;
    if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
      throw new BadRequest(400, `payloads[${i}].metadata must be an object of base64 strings`);
    }
    const meta: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(metadata ?? {})) meta[k] = base64Field(v, `payloads[${i}].metadata.${k}`);
    return { metadata: meta, data: data === undefined ? new Uint8Array() : base64Field(data, `payloads[${i}].data`) };
  });
}

export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BadRequest(413, `the body is larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createCodecServer(opts: CodecServerOptions): http.Server {
  const allowed = new Set(opts.allowedOrigins.map((o) => o.replace(/\/+$/, '')));
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!allowed.has(origin)) {
        throw new BadRequest(403, `origin ${origin} is not allowed: start the codec server with --ui-origin ${origin}`);
      }
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    if (req.method === 'OPTIONS') return send(res, 204);
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    // also /<namespace>/decode, for endpoints templated with {namespace} (the CLI's --codec-endpoint)
    const op = /^(?:\/[^/]+)?\/(encode|decode)$/.exec(path)?.[1];
    if (!op) throw new BadRequest(404, `no such endpoint ${path || '/'}: use POST /encode or POST /decode`);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      throw new BadRequest(405, `${req.method} is not allowed on ${path}: use POST`);
    }
    const payloads = parsePayloadsBody(await readBody(req, limit));
    let out: Payload[];
    try {
      out = op === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
    } catch (err) {
      if (err instanceof PayloadEncryptionError) throw new BadRequest(400, err.message);
      throw err;
    }
    send(res, 200, payloadsToJson(out));
  };

  return http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof BadRequest ? err.status : 500;
      const message = err instanceof BadRequest ? err.message : `internal error: ${(err as Error).message}`;
      opts.log?.(`codec-server: ${req.method} ${req.url}: ${status} ${message}`);
      if (res.headersSent) res.destroy();
      else send(res, status, { error: message });
    });
  });
}
