import type { SftpConfig } from '../config';
import { resolveSftpPrivateKey } from '../config';
import type { SftpEndpoint } from '../sftp';

/** The worker's own SFTP credentials → a connection endpoint. Never passed through Temporal. */
export function sftpEndpointFromConfig(sftp: SftpConfig): SftpEndpoint {
  return {
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    password: sftp.password,
    privateKey: resolveSftpPrivateKey(sftp),
    passphrase: sftp.passphrase,
    hostKey: sftp.host_key,
    insecureSkipHostKeyCheck: sftp.insecure_skip_host_key_check,
    ciphers: sftp.ciphers,
    readyTimeoutMs: sftp.ready_timeout_ms,
    keepaliveIntervalMs: sftp.keepalive_interval_ms,
  };
}
