import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';

const { ping } = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '30 seconds' });

/** The smallest round trip through the worker: proves the stack and the worker are wired. */
export async function PingWorkflow(message: string): Promise<string> {
  return ping(message);
}
