import type { Config, SftpConfig } from '../config';
import { sftpEndpointFromConfig } from '../activities/sftp-endpoint';
import type { SftpEndpoint } from '../sftp';
import { IngestError } from './tenants';

/**
 * The SFTP connection a tenant names: `default` is the top-level `sftp` block, any other name
 * one of `connections.sftp` (the config's validation already checked the name exists).
 */
export function sftpEndpointForTenant(config: Config, name: string): SftpEndpoint {
  const named = (config as { connections?: { sftp?: Record<string, SftpConfig> } }).connections?.sftp ?? {};
  const block = name === 'default' ? (config as { sftp?: SftpConfig }).sftp ?? named[name] : named[name];
  if (!block) throw new IngestError('SftpConfigInvalid', `no SFTP connection named "${name}": add it under connections.sftp (or the top-level sftp block for "default")`);
  return sftpEndpointFromConfig(block);
}
