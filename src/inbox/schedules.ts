import type { Config } from '../config';
import type { DesiredSchedule } from '../temporal/desired-schedule';
import { durationMs } from './config';
import { inboxScheduleId } from './naming';

/**
 * One Temporal Schedule per enabled inbox (`<task queue>-inbox-<name>`), every `poll_interval`,
 * overlap skip; it starts InboxScheduledPollWorkflow, which runs the poll as `inbox-<name>-poll`.
 */
export function inboxSchedules(config: Config): DesiredSchedule[] {
  const inboxes = config.inboxes ?? {};
  return Object.entries(inboxes)
    .filter(([, i]) => i.enabled)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, i]) => ({
      id: inboxScheduleId(config.temporal.task_queue, name),
      cron: `every ${i.poll_interval}`,
      interval: `${durationMs(i.poll_interval) ?? 60_000}ms`,
      timezone: i.timezone,
      overlap: 'skip',
      catchupWindow: '1m',
      paused: i.paused,
      input: { inbox: name },
      workflowType: 'InboxScheduledPollWorkflow',
      taskQueue: config.temporal.task_queue,
      note: `bq-sftp inbox ${name}: poll ${i.path}/${i.source_dir} every ${i.poll_interval}`,
    }));
}
