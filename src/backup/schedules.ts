import type { Config } from '../config';
import type { BackupConfig } from './config';
import type { BackupInput } from './workflow';

/** `<task queue>-backup-<name>`: one Temporal Schedule per backup that has a `schedule`. */
export const backupScheduleId = (taskQueue: string, name: string) => `${taskQueue}-backup-${name}`;

/**
 * The schedules `schedules sync` makes for backups (the seed's Cloud Scheduler jobs: daily,
 * weekly, monthly per dataset). A scheduled run's logical date is its scheduled day in the
 * schedule's time zone.
 */
export function desiredBackupSchedules(config: Config) {
  const backups = (config as { backups?: Record<string, BackupConfig> }).backups ?? {};
  const s = config.schedule;
  return Object.entries(backups)
    .filter(([, b]) => b.enabled !== false && b.schedule)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, b]) => ({
      id: backupScheduleId(config.temporal.task_queue, name),
      cron: b.schedule!.cron,
      timezone: b.schedule!.timezone,
      overlap: s.overlap,
      catchupWindow: s.catchup_window,
      paused: b.schedule!.paused,
      input: { backup: name, timezone: b.schedule!.timezone } satisfies BackupInput,
      taskQueue: config.temporal.task_queue,
      note: `bq-sftp backup ${name} (${b.dataset}) → ${b.destination.type}`,
      workflowType: 'BackupWorkflow',
    }));
}
