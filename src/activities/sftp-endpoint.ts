import type { Config, SftpConfig } from '../config';
import { DEFAULT_CONNECTION, resolveSftpPrivateKey, sftpConnection } from '../config';
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
