import type { Config, SftpConfig } from '../config';
import { DEFAULT_CONNECTION, resolveSftpPrivateKey, sftpConnection, sftpConnectionNames } from '../config';
import { prepareKey } from '../sftp/key-cache';
import type { SftpEndpoint } from '../sftp';

/** The named connection's endpoint (its own pool slot and limit). Never passed through Temporal. */
export function sftpEndpointFor(config: Config, name: string = DEFAULT_CONNECTION): SftpEndpoint {
  return sftpEndpointFromConfig(sftpConnection(config, name), name);
}

/** The worker's own SFTP credentials → a connection endpoint. Never passed through Temporal. */
export function sftpEndpointFromConfig(sftp: SftpConfig, connection?: string): SftpEndpoint {
  return {
    connection,
    maxConnections: sftp.max_connections,
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    password: sftp.password,
    privateKey: resolveSftpPrivateKey(sftp, connection && connection !== DEFAULT_CONNECTION ? `connections.sftp.${connection}` : 'sftp'),
    passphrase: sftp.passphrase,
    hostKey: sftp.host_key,
    insecureSkipHostKeyCheck: sftp.insecure_skip_host_key_check,
    ciphers: sftp.ciphers,
    readyTimeoutMs: sftp.ready_timeout_ms,
    keepaliveIntervalMs: sftp.keepalive_interval_ms,
  };
}

/**
 * Opens the named connections' passphrase-protected keys on a thread, one after the other, in the
 * background (key-cache.ts): a worker's first connection then does not stall its event loop. A
 * connection that cannot be read is skipped here and reported when it is used.
 */
export async function prepareConnectionKeys(config: Config): Promise<void> {
  for (const name of sftpConnectionNames(config)) {
    let ep: SftpEndpoint;
    try {
      ep = sftpEndpointFor(config, name);
    } catch {
      continue;
    }
    await prepareKey(ep.privateKey, ep.passphrase);
  }
}
