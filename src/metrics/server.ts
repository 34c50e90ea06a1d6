/**
 * `/metrics` on one port: the Temporal SDK's own worker metrics and ours in one Prometheus text
 * page. The SDK's Rust core exports its metrics through its own HTTP exporter; we bind that to a
 * private loopback port and our server, on the public port, fetches its text at each scrape and
 * appends our registry's. One scrape target, one port to open, and neither set of metrics needs
 * the other's library.
 */
import http from 'node:http';
import net from 'node:net';
import { metrics } from './registry';

/** A free TCP port on 127.0.0.1 (for the SDK's private exporter). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

async function sdkText(sdkAddress: string | undefined): Promise<{ ok: boolean; text: string }> {
  if (!sdkAddress) return { ok: false, text: '' };
  try {
    const res = await fetch(`http://${sdkAddress}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return { ok: false, text: '' };
    return { ok: true, text: await res.text() };
  } catch {
    return { ok: false, text: '' };
  }
}

/** The whole page: the SDK's metrics (when its exporter answers) + ours + whether the SDK's answered. */
export async function metricsPage(sdkAddress: string | undefined): Promise<string> {
  const sdk = await sdkText(sdkAddress);
  const ours = await metrics.text();
  const up = `# HELP bqsftp_sdk_metrics_up 1 when the Temporal SDK's own metrics are included in this page\n# TYPE bqsftp_sdk_metrics_up gauge\nbqsftp_sdk_metrics_up ${sdk.ok ? 1 : 0}\n`;
  return `${sdk.text}${sdk.text && !sdk.text.endsWith('\n') ? '\n' : ''}${ours}${up}`;
}

export function startMetricsServer(opts: { host: string; port: number; sdkAddress?: string }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (url !== '/metrics' && url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metricsPage(opts.sdkAddress).then(
      (body) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${(err as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `metrics port ${opts.host}:${opts.port} is in use: choose another with --metrics-port or metrics.prometheus.port` : err.message)),
    );
    server.listen(opts.port, opts.host, () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        port,
        url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}/metrics`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
