export { PingWorkflow } from './ping';
export { ExportWorkflow, exportProgressQuery } from './export';
