import type { Command } from 'commander';
import { createApi } from '../http/server';
import { addConfigOption, clientFor, loadCliConfig } from './config-option';
import { EXIT_REFUSED, fail } from './output';

export function registerServeCommand(program: Command): void {
  addConfigOption(
    program
      .command('serve')
      .description('HTTP API: GET /health, POST /transfer, POST /verify, POST /exports/{name}/runs, GET /runs/{id}, GET /openapi.json')
      .option('--port <n>', 'port (default: http.port, 8080)')
      .option('--host <addr>', 'address to listen on (default: http.host, 127.0.0.1)'),
  ).action(async (opts: { config?: string; port?: string; host?: string }) => {
    const config = loadCliConfig(opts);
    const port = opts.port === undefined ? config.http.port : /^\d{1,5}$/.test(opts.port) ? Number(opts.port) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number from 0 to 65535 (got ${JSON.stringify(opts.port)})`, EXIT_REFUSED);
    const host = opts.host ?? config.http.host;
    const client = await clientFor(config);
    const server = createApi({ config, client, configPath: opts.config }).server();
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
