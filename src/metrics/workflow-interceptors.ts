/**
 * Workflow interceptor (runs inside the workflow sandbox, bundled with the workflow code): when a
 * run closes it reports the outcome to the worker through a sink, and the worker counts it
 * (bqsftp_runs_total). Sinks are not called during replay, so a run is counted once. A plain
 * Error (a workflow task failure, retried by Temporal) is not an outcome and is not counted.
 * No Node built-ins here (deterministic sandbox).
 */
import { ContinueAsNew, isCancellation, proxySinks, TemporalFailure, type Next, type Sinks, type WorkflowExecuteInput, type WorkflowInboundCallsInterceptor, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export type RunStatus = 'succeeded' | 'failed' | 'cancelled' | 'continued_as_new';

export interface MetricsSinks extends Sinks {
  bqsftpMetrics: {
    runFinished(status: RunStatus, job: string): void;
  };
}

const { bqsftpMetrics } = proxySinks<MetricsSinks>();

/** The job a run is about: the export/pipeline/inbox/backup/tenant name in its input, if any. */
function jobOf(arg: unknown): string {
  if (typeof arg !== 'object' || arg === null) return '';
  const a = arg as Record<string, unknown>;
  for (const k of ['exportName', 'pipeline', 'inbox', 'backup', 'tenant', 'name']) if (typeof a[k] === 'string') return a[k] as string;
  return '';
}

class RunOutcomeInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const job = jobOf(input.args[0]);
    let result: unknown;
    try {
      result = await next(input);
    } catch (err) {
      let status: RunStatus | undefined;
      if (err instanceof ContinueAsNew) status = 'continued_as_new';
      else if (isCancellation(err)) status = 'cancelled';
      else if (err instanceof TemporalFailure) status = 'failed';
      if (status) bqsftpMetrics.runFinished(status, job);
      throw err;
    }
    bqsftpMetrics.runFinished('succeeded', job);
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new RunOutcomeInterceptor()] });
