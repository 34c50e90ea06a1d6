import type { Config } from '../config';
import type { DesiredSchedule } from '../temporal/desired-schedule';
import type { DataType } from './event-types';
import { ingestConfig } from './tenants';

export const ingestScheduleId = (taskQueue: string, tenant: string) => `${taskQueue}-ingest-${tenant}`;

/** One daily schedule per tenant with `schedule` enabled: IngestScheduledWorkflow ingests yesterday. */
export function ingestSchedules(config: Config): DesiredSchedule[] {
  const ingest = ingestConfig(config);
  return Object.entries(ingest.tenants)
    .filter(([, t]) => t.schedule?.enabled)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tenant, t]) => {
      const dataTypes: DataType[] = ['events', ...(t.users_file ? (['users'] as const) : []), ...(t.locations_file ? (['locations'] as const) : [])];
      return {
        id: ingestScheduleId(config.temporal.task_queue, tenant),
        cron: t.schedule!.cron,
        timezone: t.schedule!.timezone,
        overlap: config.schedule.overlap,
        catchupWindow: config.schedule.catchup_window,
        paused: t.schedule!.paused,
        input: { tenant, data_types: dataTypes, timezone: t.schedule!.timezone, date_offset_days: 1, timeout_seconds: ingest.job_timeout_seconds },
        workflowType: 'IngestScheduledWorkflow',
        taskQueue: config.temporal.task_queue,
        note: `bq-sftp ingest of tenant ${tenant} (yesterday, daily)`,
      };
    });
}
