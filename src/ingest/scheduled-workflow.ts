import { executeChild, uuid4, workflowInfo } from '@temporalio/workflow';
import { logicalDate } from '../workflows/logical-date';
import { ScheduledStartTimeKey } from '../workflows/search-attributes';
import type { DataType } from './event-types';
import { ingestJobId, type IngestJob } from './job';
import { IngestWorkflow } from './workflow';

export interface IngestScheduleInput {
  tenant: string;
  data_types: DataType[];
  timezone: string;
  /** logical date = scheduled day minus this many days (1: yesterday) */
  date_offset_days: number;
  timeout_seconds: number;
}

/**
 * Started by a tenant's daily schedule (`bq-sftp schedules sync`): one IngestWorkflow job for the
 * logical date derived from the scheduled time (yesterday by default), so late and catch-up runs
 * ingest the right day.
 */
export async function IngestScheduledWorkflow(input: IngestScheduleInput): Promise<IngestJob> {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTimeKey) ?? new Date(info.startTime);
  const date = logicalDate(scheduled, input.date_offset_days, input.timezone);
  const jobId = ingestJobId(new Date(), uuid4().replace(/-/g, '').slice(0, 6));
  return executeChild(IngestWorkflow, {
    workflowId: jobId,
    args: [{ job_id: jobId, tenant: input.tenant, start_date: date, end_date: date, data_types: input.data_types, timeout_seconds: input.timeout_seconds }],
  });
}
