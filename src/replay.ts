/**
 * Replay check before a rollout: fetch the histories of runs (by default every open run) from a
 * namespace and replay them against this build's workflow code. A change that would break an open
 * run (a different command where the history has another) fails here, not in production.
 *
 *   bq-sftp replay -c prod.json                      # every open run
 *   bq-sftp replay -c prod.json --query "WorkflowType = 'ExportWorkflow'" --limit 200
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { Config } from './config';
import { dataConverterFor } from './codec/data-converter';
import { metricsSinks } from './metrics/sinks';
import { workflowBundlePath } from './temporal/workflow-bundle';

export type History = temporal.api.history.v1.IHistory;

export interface RecordedHistory {
  workflowId: string;
  runId?: string;
  workflowType: string;
  history: History;
}

export interface ReplayOutcome {
  workflowId: string;
  workflowType: string;
  ok: boolean;
  error?: string;
}

/** Up to `limit` histories of the runs `query` (a Temporal List filter) finds, newest first. */
export async function fetchHistories(client: Client, query: string, limit: number): Promise<RecordedHistory[]> {
  const out: RecordedHistory[] = [];
  for await (const w of client.workflow.list({ query })) {
    if (out.length >= limit) break;
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    out.push({ workflowId: w.workflowId, runId: w.runId, workflowType: w.type, history });
  }
  return out;
}

/** The build id a history's first completed workflow task was made by (undefined before build ids). */
export function historyBuildId(history: History): string | undefined {
  for (const e of history.events ?? []) {
    const a = e.workflowTaskCompletedEventAttributes;
    if (a) return a.workerVersion?.buildId ?? undefined;
  }
  return undefined;
}

/**
 * Replays each history against a workflow bundle (default: this build's) and says which fail.
 * `workflowsPath` bundles other workflow code instead (the replay test's deliberately changed one).
 */
export async function replayHistories(config: Pick<Config, 'encryption'>, histories: RecordedHistory[], opts: { workflowsPath?: string } = {}): Promise<ReplayOutcome[]> {
  const types = new Map(histories.map((h) => [h.workflowId, h.workflowType]));
  const code = opts.workflowsPath ? { workflowsPath: opts.workflowsPath } : { workflowBundle: { codePath: await workflowBundlePath() } };
  const results = Worker.runReplayHistories(
    { ...code, dataConverter: dataConverterFor(config.encryption), sinks: metricsSinks(), replayName: 'bq-sftp-replay' },
    histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  const out: ReplayOutcome[] = [];
  for await (const r of results) {
    out.push({
      workflowId: r.workflowId,
      workflowType: types.get(r.workflowId) ?? '?',
      ok: !r.error,
      ...(r.error ? { error: `${r.error.name}: ${r.error.message}` } : {}),
    });
  }
  return out;
}
