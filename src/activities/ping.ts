import { activityInfo } from '@temporalio/activity';

export async function ping(message: string): Promise<string> {
  return `pong: ${message} (activity ${activityInfo().activityType} on ${activityInfo().taskQueue})`;
}
