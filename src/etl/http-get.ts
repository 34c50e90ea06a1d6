/**
 * GET over node:http(s) with one keep-alive connection, shaped like `fetch` for what the extract
 * uses (status, ok, headers.get, text). The source is read page by page, a thousand requests per
 * 100,000 records: `fetch` (undici) cost ~0.5 ms of CPU more per request than this on the bench
 * machine, as much as parsing the page. Redirects are followed (up to 10); the body is decoded as
 * UTF-8; no compression is asked for. Errors carry the socket error as `cause` (its `code`), like
 * fetch's; an aborted signal rejects with its reason.
 */
import http from 'node:http';
import https from 'node:https';

export interface GetResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type Get = (url: string, init: { headers?: Record<string, string>; signal?: AbortSignal }) => Promise<GetResponse>;

/** A getter with its own keep-alive agents; `close()` ends their connections. */
export function keepAliveGetter(): { get: Get; close(): void } {
  const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 4 }), https: new https.Agent({ keepAlive: true, maxSockets: 4 }) };
  const once = (url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<{ res: http.IncomingMessage; body: Promise<string> }> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.get(url, { headers, agent: url.protocol === 'https:' ? agents.https : agents.http }, (res) => {
        res.setEncoding('utf8');
        const body = new Promise<string>((ok, fail) => {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => ok(text));
          res.on('error', (err) => fail(signal?.aborted ? (signal.reason as Error) : new Error(`the response was cut off: ${err.message}`, { cause: err })));
          res.on('aborted', () => fail(signal?.aborted ? (signal.reason as Error) : new Error('the response was cut off', { cause: { code: 'ECONNRESET' } })));
        });
        body.catch(() => undefined); // read (or dropped) by the caller
        resolve({ res, body });
      });
      const onAbort = () => req.destroy(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('error', (err: NodeJS.ErrnoException) => reject(signal?.aborted ? (signal.reason as Error) : new Error(`request failed: ${err.message}`, { cause: err })));
    });

  const get: Get = async (raw, init) => {
    let url = new URL(raw);
    for (let hop = 0; ; hop++) {
      const { res, body } = await once(url, init.headers ?? {}, init.signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location && hop < 10) {
        res.resume();
        url = new URL(location, url);
        continue;
      }
      return {
        ok: status >= 200 && status < 300,
        status,
        headers: { get: (name) => { const v = res.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
        text: () => body,
      };
    }
  };
  return { get, close: () => (agents.http.destroy(), agents.https.destroy()) };
}
