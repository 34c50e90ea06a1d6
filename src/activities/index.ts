import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import type { SftpPool } from '../sftp';
import { ping } from './ping';
import { createBqExport } from './bigquery';
import { createTransferFiles } from './transfer';
import { createVerifySync } from './verify';
import { createNotifySlack } from './notify';
import { createConfiguredExports } from './configured-exports';

/** Everything an activity needs from the worker; built once per worker process. */
export interface ActivityDeps {
  config: Config;
  storage: Storage;
  bigquery: BigQuery;
  sftpPool: SftpPool;
  fetch?: typeof fetch;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ping,
    bqExport: createBqExport(deps),
    transferFiles: createTransferFiles(deps),
    verifySync: createVerifySync(deps),
    notifySlack: createNotifySlack(deps),
    configuredExports: createConfiguredExports(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { BqExportInput, BqExportResult } from './bigquery';
export type { TransferInput, TransferSummary, TransferProgress } from './transfer';
export type { VerifyInput, VerifyResult } from './verify';
export type { FailureNotice } from './notify';
