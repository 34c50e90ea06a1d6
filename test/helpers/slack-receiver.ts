import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local stand-in for a Slack incoming webhook that records what it receives. */
export interface SlackReceiver {
  url: string;
  messages: { text: string; blocks?: unknown[] }[];
  close(): Promise<void>;
}

export async function startSlackReceiver(opts: { status?: number } = {}): Promise<SlackReceiver> {
  const messages: SlackReceiver['messages'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        messages.push(JSON.parse(body));
      } catch {
        messages.push({ text: body });
      }
      res.writeHead(opts.status ?? 200, { 'content-type': 'text/plain' }).end(opts.status && opts.status >= 400 ? 'error' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/secret-webhook-token`,
    messages,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
