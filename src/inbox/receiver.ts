/**
 * A local stand-in for the document-processing API of an inbox: checks every request's signature
 * and records what it got. Used by the tests, the demo and the benchmark; also a reference for
 * writing a real receiver (see README, "Inbox").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDEMPOTENCY_HEADER, signatureProblem } from './signature';

export interface ReceivedRequest {
  at: number;
  idempotency_key: string;
  /** undefined when the signature is valid */
  signature_problem?: string;
  files: { filename: string; backup_path: string }[];
  body: Record<string, unknown>;
  /** the status the receiver answered */
  status: number;
}

export interface InboxReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** requests answered 2xx, with a valid signature, first per Idempotency-Key */
  accepted(): ReceivedRequest[];
  close(): Promise<void>;
}

export interface ReceiverOptions {
  secret: string;
  /** statuses to answer, in order; once used up every request gets 200 */
  script?: number[];
  /** Retry-After to send with 429/503 answers */
  retryAfter?: string;
  port?: number;
  host?: string;
  /** delay every answer (ms) */
  delayMs?: number;
}

export async function startInboxReceiver(opts: ReceiverOptions): Promise<InboxReceiver> {
  const requests: ReceivedRequest[] = [];
  const script = [...(opts.script ?? [])];
  const acceptedKeys = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const problem = signatureProblem(opts.secret, req.headers, raw);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        // recorded as an empty body
      }
      const key = String(req.headers[IDEMPOTENCY_HEADER] ?? '');
      let status = problem ? 401 : (script.shift() ?? 200);
      const duplicate = status < 300 && acceptedKeys.has(key);
      if (status < 300) acceptedKeys.add(key);
      if (duplicate) status = 200;
      requests.push({
        at: Date.now(),
        idempotency_key: key,
        signature_problem: problem,
        files: Array.isArray(body.files) ? (body.files as ReceivedRequest['files']) : [],
        body,
        status,
      });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if ((status === 429 || status === 503) && opts.retryAfter) headers['retry-after'] = opts.retryAfter;
      const answer = problem ? { error: `invalid signature: ${problem}` } : status >= 400 ? { error: `scripted HTTP ${status}` } : { ok: true, duplicate };
      setTimeout(() => res.writeHead(status, headers).end(JSON.stringify(answer)), opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/v1/documents/batches`,
    requests,
    accepted: () => {
      const seen = new Set<string>();
      return requests.filter((r) => r.status < 300 && !r.signature_problem && !seen.has(r.idempotency_key) && seen.add(r.idempotency_key));
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
