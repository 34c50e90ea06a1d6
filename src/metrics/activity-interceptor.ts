/**
 * The worker's activity interceptor: reads each finished activity's input and result and feeds
 * the metrics registry, so the families' activity code needs no metrics calls for what their
 * results already say (transfers, ingest rows, ETL dead letters, inbox backlog), and counts
 * failed attempts by error type.
 */
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, Next } from '@temporalio/worker';
import { familyOf, metrics } from './registry';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** What a finished activity's result tells the metrics (exported for unit tests). */
export function observeResult(activity: string, input: unknown, result: unknown): void {
  if (!isRec(result)) return;
  const arg = isRec(input) ? input : {};
  const family = familyOf(activity);
  if (activity === 'transferFiles') {
    // TransferSummary (src/export/transfer-files.ts)
    const bytes = num(result.total_bytes);
    const files = num(result.files_transferred);
    if (bytes === undefined || files === undefined) return;
    metrics.recordTransfer({
      family: 'export',
      job: str(result.export_name) ?? str(arg.exportName) ?? '',
      connection: str(result.connection),
      bytes,
      files,
      seconds: num(result.total_time_seconds),
    });
    return;
  }
  if (family === 'ingest' && num(result.rows) !== undefined) {
    metrics.ingestRows(str(arg.tenant) ?? '', str(result.event_type) ?? str(result.kind) ?? str(arg.eventType) ?? str(arg.kind) ?? 'rows', num(result.rows)!);
    return;
  }
  if (activity === 'etlTransform') {
    const job = str(arg.pipeline) ?? '';
    if (num(result.processed) !== undefined) metrics.etlRecords(job, num(result.processed)!);
    if (isRec(result.reasons)) {
      const byRule: Record<string, number> = {};
      for (const [rule, n] of Object.entries(result.reasons)) if (typeof n === 'number') byRule[rule] = n;
      metrics.etlDeadLetters(job, byRule);
    }
    return;
  }
  if (activity === 'inboxScan' && Array.isArray(result.complete) && Array.isArray(result.waiting)) {
    metrics.inboxBacklog(str(arg.inbox) ?? '', result.complete.length + result.waiting.length);
  }
}

/** The failure's stable type (ApplicationFailure.type) and whether Temporal may retry it. */
export function classifyFailure(err: unknown): { errorType: string; retryable: boolean } | undefined {
  if (err instanceof CancelledFailure) return undefined;
  if (err instanceof ApplicationFailure) return { errorType: err.type ?? 'ApplicationFailure', retryable: !err.nonRetryable };
  if (err instanceof Error) return { errorType: err.name || 'Error', retryable: true };
  return { errorType: 'Error', retryable: true };
}

class MetricsActivityInbound implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: ActivityContext) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const activity = this.ctx.info.activityType;
    let result: unknown;
    try {
      result = await next(input);
    } catch (err) {
      const c = this.ctx.cancellationSignal.aborted ? undefined : classifyFailure(err);
      if (c) metrics.activityFailed({ family: familyOf(activity), activity, ...c });
      throw err;
    }
    try {
      observeResult(activity, input.args[0], result);
    } catch {
      // metrics never fail an activity
    }
    return result;
  }
}

export const metricsActivityInterceptor: ActivityInterceptorsFactory = (ctx) => ({ inbound: new MetricsActivityInbound(ctx) });
