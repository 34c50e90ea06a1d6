import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { parseRunDate } from '../config';
import { startExport } from '../starter';
import { describeFailure } from './workflow';
import { exportWorkflowId } from './naming';

export interface BackfillItem {
  export_name: string;
  date: string;
  workflow_id: string;
  status: 'succeeded' | 'failed' | 'skipped';
  error?: string;
}

/** Every date from `from` to `to`, inclusive; refuses reversed or huge ranges. */
export function dateRange(from: string, to: string, max = 366): string[] {
  const a = Date.parse(`${parseRunDate(from)}T00:00:00Z`);
  const b = Date.parse(`${parseRunDate(to)}T00:00:00Z`);
  if (b < a) throw new Error(`--to ${to} is before --from ${from}`);
  const days = (b - a) / 86_400_000 + 1;
  if (days > max) throw new Error(`the range --from ${from} --to ${to} has ${days} days; at most ${max} per backfill (split it)`);
  return Array.from({ length: days }, (_, i) => new Date(a + i * 86_400_000).toISOString().slice(0, 10));
}

async function alreadySucceeded(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'COMPLETED';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** One ExportWorkflow per export and date, at most `concurrency` at once; succeeded dates are skipped unless forced. */
export async function backfill(
  client: Client,
  config: Config,
  opts: { exports: string[]; from: string; to: string; force?: boolean; concurrency?: number; onProgress?: (done: BackfillItem, finished: number, total: number) => void },
): Promise<BackfillItem[]> {
  const dates = dateRange(opts.from, opts.to);
  const jobs = opts.exports.flatMap((exportName) => dates.map((date) => ({ exportName, date })));
  const items: BackfillItem[] = [];
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const { exportName, date } = jobs[next++];
      const workflowId = exportWorkflowId(exportName, date);
      let item: BackfillItem;
      if (!opts.force && (await alreadySucceeded(client, workflowId))) {
        item = { export_name: exportName, date, workflow_id: workflowId, status: 'skipped' };
      } else {
        try {
          await (await startExport(client, config, { exportName, date })).result();
          item = { export_name: exportName, date, workflow_id: workflowId, status: 'succeeded' };
        } catch (err) {
          if (!(err instanceof WorkflowFailedError)) throw err;
          const f = describeFailure(err.cause);
          item = { export_name: exportName, date, workflow_id: workflowId, status: 'failed', error: `${f.type}: ${f.message}` };
        }
      }
      items.push(item);
      opts.onProgress?.(item, items.length, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 3, jobs.length)) }, lane));
  return items.sort((a, b) => a.export_name.localeCompare(b.export_name) || a.date.localeCompare(b.date));
}
