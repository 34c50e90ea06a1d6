import type { Config } from '../config';
import type { DesiredSchedule } from '../temporal/desired-schedule';
import { etlScheduleId } from './naming';

/**
 * One Temporal Schedule per enabled pipeline (`schedule.cron`, the seed's `0 3 * * *` by default),
 * starting EtlWorkflow with only the pipeline's name: the run's stamp comes from the scheduled time.
 */
export function etlSchedules(config: Config): DesiredSchedule[] {
  return Object.entries(config.etl.pipelines)
    .filter(([, p]) => p.schedule.enabled)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, p]) => ({
      id: etlScheduleId(config.temporal.task_queue, name),
      cron: p.schedule.cron,
      timezone: p.schedule.timezone,
      overlap: config.schedule.overlap,
      catchupWindow: config.schedule.catchup_window,
      paused: p.schedule.paused,
      input: { pipeline: name },
      workflowType: 'EtlWorkflow',
      taskQueue: config.temporal.task_queue,
      note: `bq-sftp ETL pipeline ${name}`,
    }));
}
