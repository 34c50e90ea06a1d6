import { createHash } from 'node:crypto';

/** Where and how to connect. Secrets stay in this object; they never reach a message or a log. */
export interface SftpEndpoint {
  /** the config's name for this server; the pool keeps a separate slot (and limit) per connection */
  connection?: string;
  /** the most sessions the pool opens to this connection at once (default: the pool's) */
  maxConnections?: number;
  host: string;
  port: number;
  username: string;
  password?: string;
  /** the private key's text (PEM / OpenSSH) */
  privateKey?: string | Buffer;
  passphrase?: string;
  /** `SHA256:<base64>` fingerprint(s) and/or known_hosts line(s), one a line */
  hostKey?: string;
  /** connect to a server whose key is not pinned (only for `sftp check` and tests) */
  insecureSkipHostKeyCheck?: boolean;
  /** cipher names in order of preference, e.g. `['aes128-gcm@openssh.com']` */
  ciphers?: string[];
  /** SSH handshake timeout (default 20 s) */
  readyTimeoutMs?: number;
  /** keepalive interval, 0 turns it off (default 10 s); 3 unanswered keepalives drop the connection */
  keepaliveIntervalMs?: number;
  /** ssh2's debug output (for troubleshooting; it carries no secrets) */
  debug?: (message: string) => void;
}

export function serverLabel(ep: Pick<SftpEndpoint, 'host' | 'port'>): string {
  return `${ep.host}:${ep.port}`;
}

export function authKind(ep: SftpEndpoint): 'password' | 'private key' | 'private key + passphrase' | 'none' {
  if (ep.privateKey) return ep.passphrase ? 'private key + passphrase' : 'private key';
  return ep.password ? 'password' : 'none';
}

export function secretsOf(ep: SftpEndpoint): (string | Buffer | undefined)[] {
  return [ep.password, ep.passphrase, ep.privateKey];
}

/**
 * The pool's key: host:port:user plus a digest of everything else that changes the connection
 * (credentials, pin, ciphers), so a changed password gets a new connection. Only a digest of the
 * secrets is kept, never the secrets.
 */
export function endpointKey(ep: SftpEndpoint): string {
  const digest = createHash('sha256');
  for (const part of [ep.password, ep.privateKey, ep.passphrase, ep.hostKey, String(ep.insecureSkipHostKeyCheck ?? false), (ep.ciphers ?? []).join(',')]) {
    digest.update(part === undefined ? '\u0000' : Buffer.isBuffer(part) ? part : Buffer.from(part));
    digest.update('\u0001');
  }
  const base = `${ep.host}:${ep.port}:${ep.username}:${digest.digest('hex').slice(0, 16)}`;
  return ep.connection ? `${ep.connection}@${base}` : base;
}
