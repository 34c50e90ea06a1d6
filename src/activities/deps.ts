import type { Config } from '../config';
import { createBigQuery } from '../bigquery/client';
import { createStorage } from '../gcs/client';
import { SftpPool } from '../sftp';
import type { ActivityDeps } from './index';

/** Real clients for the configured services (emulator endpoints when the config names them). */
export function buildActivityDeps(config: Config): ActivityDeps {
  const projectId = config.bigquery?.project_id ?? config.gcs.project_id;
  return {
    config,
    storage: createStorage({ apiEndpoint: config.gcs.api_endpoint, projectId: config.gcs.project_id ?? projectId }),
    bigquery: createBigQuery({ apiEndpoint: config.bigquery?.api_endpoint, projectId: projectId ?? '', location: config.bigquery?.location }),
    // each endpoint carries its connection's own max_connections; this is the fallback
    sftpPool: new SftpPool({ maxPerEndpoint: 4 }),
  };
}
