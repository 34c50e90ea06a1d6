import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import type { SftpPool } from '../sftp';
import { ping } from './ping';
import { createNotifySlack } from './notify';
import { createExportActivities } from '../export/activities';
import { createBackupActivities } from '../backup/activities';
import { createInboxActivities } from '../inbox/activities';
import { createIngestActivities } from '../ingest/activities';
import { createEtlActivities } from '../etl/activities';

/** Everything an activity needs from the worker; built once per worker process. */
export interface ActivityDeps {
  config: Config;
  storage: Storage;
  bigquery: BigQuery;
  sftpPool: SftpPool;
  fetch?: typeof fetch;
}

/** Every family's activities, registered on the one worker. */
export function createActivities(deps: ActivityDeps) {
  return {
    ping,
    notifySlack: createNotifySlack(deps),
    ...createExportActivities(deps),
    ...createBackupActivities(deps),
    ...createInboxActivities(deps),
    ...createIngestActivities(deps),
    ...createEtlActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { BqExportInput, BqExportResult, TransferInput, TransferSummary, TransferProgress, VerifyInput, VerifyResult } from '../export/activities';
export type { FailureNotice } from './notify';
