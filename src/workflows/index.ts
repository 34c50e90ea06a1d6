export { PingWorkflow } from './ping';
export { ExportWorkflow, exportProgressQuery } from './export';
export { DailyExportsWorkflow } from './daily';
export { TransferWorkflow, VerifyWorkflow } from './api';
