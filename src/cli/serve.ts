import type { Command } from 'commander';
import type * as HttpServerModule from '../http/server';
import { addConfigOption, clientFor, loadCliConfig } from './config-option';
import { EXIT_REFUSED, fail } from './output';

// the HTTP API (Temporal client, Cloud Storage, PostgreSQL, …) when `serve` runs, not to print the help
// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpServer = () => require('../http/server') as typeof HttpServerModule;

export function registerServeCommand(program: Command): void {
  addConfigOption(
    program
      .command('serve')
      .description('HTTP API: GET /health, POST /transfer, POST /verify, POST /exports/{name}/runs, GET /runs/{id}, GET /openapi.json')
      .option('--port <n>', 'port (default: http.port, 8080)')
      .option('--host <addr>', 'address to listen on (default: http.host, 127.0.0.1)')
      .option('--insecure-no-auth', 'listen on a non-loopback address without http.auth_token (anyone who can reach it can start transfers)'),
  ).action(async (opts: { config?: string; port?: string; host?: string; insecureNoAuth?: boolean }) => {
    const config = loadCliConfig(opts);
    const port = opts.port === undefined ? config.http.port : /^\d{1,5}$/.test(opts.port) ? Number(opts.port) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number from 0 to 65535 (got ${JSON.stringify(opts.port)})`, EXIT_REFUSED);
    const host = opts.host ?? config.http.host;
    if (!isLoopback(host) && !config.http.auth_token && !opts.insecureNoAuth) {
      fail(
        `refusing to serve on ${host} without http.auth_token: anyone who can reach it could start transfers. ` +
          'Set http.auth_token (e.g. {"env": "BQSFTP_HTTP_TOKEN"}), listen on 127.0.0.1, or pass --insecure-no-auth',
        EXIT_REFUSED,
      );
    }
    const client = await clientFor(config);
    const server = httpServer().createApi({ config, client, configPath: opts.config }).server();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    process.stdout.write(`bq-sftp API on http://${host}:${port} (OpenAPI: /openapi.json${config.http.auth_token ? ', bearer token required' : ''}); Ctrl-C stops it\n`);
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await client.connection.close();
  });
}

/** 127.0.0.0/8, ::1 and localhost; 0.0.0.0 and :: listen on every interface. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
