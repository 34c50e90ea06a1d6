export { PingWorkflow } from './ping';
