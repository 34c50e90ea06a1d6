/**
 * One Temporal Schedule that a config implies, whichever family it starts; `schedules sync`
 * makes the server match the list every family contributes.
 */
export interface DesiredSchedule {
  id: string;
  cron: string;
  timezone: string;
  overlap: string;
  catchupWindow: string;
  paused: boolean;
  /** the workflow's single argument */
  input: object;
  /** default DailyExportsWorkflow; `interval` (a duration) replaces the cron when set */
  workflowType?: string;
  interval?: string;
  taskQueue: string;
  note: string;
}
