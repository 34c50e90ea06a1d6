import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import type * as EncryptionModule from '../codec/encryption';
import { ENCRYPTION_KEYS_ENV } from '../codec/keys';
import type * as CodecServerModule from '../codec/server';
import { addConfigOption, loadCliConfig } from './config-option';
import { EXIT_REFUSED, fail } from './output';

// the codec (Temporal's protobuf payloads) when the server runs, not to print the help
/* eslint-disable @typescript-eslint/no-require-imports */
const encryption = () => require('../codec/encryption') as typeof EncryptionModule;
const codecServer = () => require('../codec/server') as typeof CodecServerModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function origin(value: string): string {
  try {
    const url = new URL(value);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value.replace(/\/+$/, '')) return url.origin;
  } catch {
    // reported below
  }
  return fail(`--ui-origin must be an origin like http://127.0.0.1:8233 (scheme, host and port only), got "${value}"`, EXIT_REFUSED);
}

/** The UI's origin from temporal.ui_url; on loopback also its other spelling (the dev server prints localhost). */
function defaultOrigins(uiUrl: string): string[] {
  const url = new URL(uiUrl);
  const alias = url.hostname === '127.0.0.1' ? 'localhost' : url.hostname === 'localhost' ? '127.0.0.1' : undefined;
  if (!alias) return [url.origin];
  const other = new URL(url.origin);
  other.hostname = alias;
  return [url.origin, other.origin];
}

export function registerCodecServerCommand(program: Command): void {
  addConfigOption(
    program
      .command('codec-server')
      .description(
        "Temporal codec server (POST /decode, POST /encode) so the Web UI and `temporal` CLI can show payloads encrypted with the config's encryption keys",
      )
      .option('--port <n>', 'port (0: any free port)', '8888')
      .option('--host <addr>', 'address to listen on; it decrypts for anyone who can reach it', '127.0.0.1')
      .option(
        '--ui-origin <url>',
        'browser origin of the Web UI allowed to call it (repeatable; default: the origin of temporal.ui_url)',
        (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
      )
      .addHelpText(
        'after',
        `\nNeeds ${ENCRYPTION_KEYS_ENV} (and optionally encryption.key_id in the config). For the local stack:\n` +
          '  bq-sftp codec-server &\n' +
          '  BQSFTP_UI_CODEC_ENDPOINT=http://127.0.0.1:8888 npm run stack -- up\n' +
          'For the CLI: temporal workflow show --workflow-id <id> --codec-endpoint http://127.0.0.1:8888',
      ),
  ).action(async (opts: { config?: string; port: string; host: string; uiOrigin?: string[] }) => {
    const port = Number(opts.port);
    if (!/^\d+$/.test(opts.port) || port > 65535) fail(`--port must be a port number from 0 to 65535 (got "${opts.port}")`, EXIT_REFUSED);
    const config = loadCliConfig(opts);
    const codec = encryption().encryptionCodecFor(config.encryption);
    if (!codec) {
      fail(`encryption is not configured: set ${ENCRYPTION_KEYS_ENV}="<id>:<base64 of 32 bytes>" (make a key with: openssl rand -base64 32)`, EXIT_REFUSED);
    }
    const origins = opts.uiOrigin ? opts.uiOrigin.map(origin) : defaultOrigins(config.temporal.ui_url);
    const server = codecServer().createCodecServer({ codec, allowedOrigins: origins, log: (line) => process.stderr.write(`${line}\n`) });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, opts.host, () => resolve()));
    const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${(server.address() as AddressInfo).port}`;
    process.stdout.write(
      `bq-sftp codec server on ${url} (POST /decode, /encode; keys ${codec.keyIds.join(', ')}, encrypting with ${codec.keyId}; ` +
        `UI origins ${origins.join(', ')})\n` +
        `Web UI: start the stack with BQSFTP_UI_CODEC_ENDPOINT=${url}; Ctrl-C stops it\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}
