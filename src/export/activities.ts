import type { ActivityDeps } from '../activities';
import { createBqExport } from './bq-export';
import { createConfiguredExports } from './configured-exports';
import { createTransferFiles } from './transfer-files';
import { createVerifySync } from './verify-sync';

/** The export family's activities (seed 000): BigQuery → GCS → SFTP → verify. */
export function createExportActivities(deps: ActivityDeps) {
  return {
    bqExport: createBqExport(deps),
    transferFiles: createTransferFiles(deps),
    verifySync: createVerifySync(deps),
    configuredExports: createConfiguredExports(deps),
  };
}

export type { BqExportInput, BqExportResult } from './bq-export';
export type { TransferInput, TransferSummary, TransferProgress } from './transfer-files';
export type { VerifyInput, VerifyResult } from './verify-sync';
