/**
 * Named SFTP connections: `connections.sftp.<name>`, plus the top-level `sftp` block as `default`.
 * No Node built-ins here: workflow code may import this module.
 */
import { ConfigError } from './errors';
import { DEFAULT_CONNECTION, type Config, type SftpConfig } from './schema';

export { DEFAULT_CONNECTION };

export function sftpConnectionNames(config: Config): string[] {
  // `default` (the top-level sftp block) is not enumerable: see resolveExports in schema.ts
  const names = Object.keys(config.connections.sftp);
  if (Object.hasOwn(config.connections.sftp, DEFAULT_CONNECTION) && !names.includes(DEFAULT_CONNECTION)) names.push(DEFAULT_CONNECTION);
  return names.sort();
}

/** The connection called `name`; throws `ConfigError` type `UnknownConnection` listing the known ones. */
export function sftpConnection(config: Config, name: string = DEFAULT_CONNECTION): SftpConfig {
  const conn = Object.hasOwn(config.connections.sftp, name) ? config.connections.sftp[name] : undefined;
  if (conn) return conn;
  const known = sftpConnectionNames(config);
  const message = `unknown SFTP connection ${JSON.stringify(name)}; ${known.length ? `known: ${known.join(', ')}` : 'no connections are configured'}`;
  throw new ConfigError({ type: 'UnknownConnection', message, issues: [{ path: 'connections.sftp', message }] });
}
