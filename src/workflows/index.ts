export { PingWorkflow } from './ping';
export { ExportWorkflow, exportProgressQuery } from '../export/workflow';
export { DailyExportsWorkflow } from '../export/daily-workflow';
export { TransferWorkflow, VerifyWorkflow } from '../export/api-workflows';
