import type { Config } from '../config';
import { sftpEndpointFor } from '../activities/sftp-endpoint';
import type { SftpEndpoint } from '../sftp';

/** The SFTP connection a tenant names (`default`: the top-level `sftp` block; others: `connections.sftp`). */
export function sftpEndpointForTenant(config: Config, name: string): SftpEndpoint {
  return sftpEndpointFor(config, name);
}
