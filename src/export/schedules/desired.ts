import type { DesiredSchedule } from '../../temporal/desired-schedule';
import type { ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Config } from '../../config';
import { inboxSchedules } from '../../inbox/schedules';
import { desiredBackupSchedules } from '../../backup/schedules';
import { etlSchedules } from '../../etl/schedules';
import { ingestSchedules } from '../../ingest/schedules';

// Schedules belong to one deployment, named by its task queue (default `bq-sftp`): IDs are
// `<task queue>-daily` and `<task queue>-export-<name>`, and the memo records the task queue.
export const dailyScheduleId = (taskQueue: string) => `${taskQueue}-daily`;
export const exportScheduleId = (taskQueue: string, name: string) => `${taskQueue}-export-${name}`;

/** What one schedule should be, in a form that compares by value. */
export type { DesiredSchedule };

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  allow_all: 'ALLOW_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
};

/**
 * The fan-out of all exports runs on the config's `schedule` (default `0 6 * * *`); an export
 * with its own `schedule.cron` is left out of the fan-out and gets a schedule of its own.
 */
export function desiredSchedules(config: Config): DesiredSchedule[] {
  const s = config.schedule;
  const enabled = Object.entries(config.exports).filter(([, e]) => e.enabled !== false);
  const own = enabled.filter(([, e]) => e.schedule?.cron);
  const fanOut = enabled.filter(([, e]) => !e.schedule?.cron).map(([n]) => n).sort();
  const base = { overlap: s.overlap, catchupWindow: s.catchup_window, taskQueue: config.temporal.task_queue };
  const out: DesiredSchedule[] = [];
  if (fanOut.length) {
    out.push({
      ...base,
      id: dailyScheduleId(config.temporal.task_queue),
      cron: s.cron,
      timezone: s.timezone,
      paused: s.paused,
      input: { exports: fanOut, maxParallel: s.max_parallel, dateOffsetDays: s.date_offset_days, timezone: s.timezone },
      note: `bq-sftp fan-out of ${fanOut.length} export(s): ${fanOut.join(', ')}`,
    });
  }
  for (const [name, e] of own.sort(([a], [b]) => a.localeCompare(b))) {
    const tz = e.schedule?.timezone ?? s.timezone;
    out.push({
      ...base,
      id: exportScheduleId(config.temporal.task_queue, name),
      cron: e.schedule!.cron!,
      timezone: tz,
      paused: e.schedule?.paused ?? s.paused,
      input: { exports: [name], maxParallel: 1, dateOffsetDays: s.date_offset_days, timezone: tz },
      note: `bq-sftp export ${name}`,
    });
  }
  out.push(...inboxSchedules(config));
  out.push(...desiredBackupSchedules(config));
  out.push(...etlSchedules(config));
  out.push(...ingestSchedules(config));
  return out;
}

/** A fingerprint stored in the schedule's memo, so sync can tell whether it must update. */
export function scheduleFingerprint(d: DesiredSchedule): string {
  return JSON.stringify([d.cron, d.timezone, d.overlap, d.catchupWindow, d.paused, d.input, d.taskQueue, ...(d.interval ? [d.interval, d.workflowType] : [])]);
}

export function toScheduleOptions(d: DesiredSchedule): ScheduleOptions {
  return {
    scheduleId: d.id,
    spec: d.interval ? { intervals: [{ every: d.interval as Duration }] } : { cronExpressions: [d.cron], timezone: d.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: d.workflowType ?? 'DailyExportsWorkflow',
      workflowId: `${d.id}-run`,
      taskQueue: d.taskQueue,
      args: [d.input],
    },
    policies: { overlap: OVERLAP[d.overlap] ?? 'SKIP', catchupWindow: d.catchupWindow as Duration },
    state: { paused: d.paused, note: d.note },
    memo: { bqSftpFingerprint: scheduleFingerprint(d), bqSftpTaskQueue: d.taskQueue },
  };
}
