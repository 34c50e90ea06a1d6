export { PingWorkflow } from './ping';
export { ExportWorkflow, exportProgressQuery } from '../export/workflow';
export { DailyExportsWorkflow } from '../export/daily-workflow';
export { TransferWorkflow, VerifyWorkflow } from '../export/api-workflows';
export { InboxPollWorkflow, InboxScheduledPollWorkflow, InboxBatchWorkflow } from '../inbox/workflow';
export { IngestWorkflow, ingestJobQuery } from '../ingest/workflow';
export { EtlWorkflow, EtlReplayDlqWorkflow, etlProgressQuery } from '../etl/workflow';
export { BackupWorkflow, BackupVerifyWorkflow, BackupRestoreWorkflow, backupProgressQuery } from '../backup/workflow';
export { IngestScheduledWorkflow } from '../ingest/scheduled-workflow';
