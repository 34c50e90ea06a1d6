import type { ActivityDeps } from '../../activities';
import { sftpEndpointFor } from '../../activities/sftp-endpoint';
import { DEFAULT_CONNECTION, sftpConnection } from '../../config';
import { createStorage } from '../../gcs/client';
import type { BackupConfig } from '../config';
import { permanentFailure } from '../../activities/failures';
import { GcsDestination } from './gcs';
import { SftpDestination } from './sftp';
import type * as BoxModule from './box';
import type { BackupDestination } from './types';

export type { BackupDestination, DestEntry, Published } from './types';
export { joinRel } from './types';

/** The destination a backup names, built from the worker's own config (secrets never travel). */
export function openDestination(deps: ActivityDeps, backupName: string, b: BackupConfig): BackupDestination {
  const d = b.destination;
  if (d.type === 'sftp') {
    const name = d.sftp ?? DEFAULT_CONNECTION;
    if (!deps.config.connections.sftp[name]) throw permanentFailure('ConfigInvalid', `backups.${backupName}.destination.sftp: unknown SFTP connection "${name}"`);
    const conn = sftpConnection(deps.config, name);
    return new SftpDestination(deps.sftpPool, sftpEndpointFor(deps.config, name), d.directory ?? conn.directory, {
      tempSuffix: conn.temp_suffix,
      publishMode: conn.publish_mode,
      transfer: deps.config.transfer,
    });
  }
  if (d.type === 'gcs') {
    const storage =
      d.api_endpoint || d.project_id
        ? createStorage({ apiEndpoint: d.api_endpoint ?? deps.config.gcs.api_endpoint, projectId: d.project_id ?? deps.config.gcs.project_id })
        : deps.storage;
    return new GcsDestination(storage, d.bucket!);
  }
  // Box's SDK loads only when a Box destination is opened: an idle worker never pays for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BoxDestination } = require('./box') as typeof BoxModule;
  return new BoxDestination(d);
}
