import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

/**
 * The failure as a person reads it: the innermost ApplicationFailure's type and message.
 * Shared by every family's workflows and by the clients (CLI, HTTP) that report their runs.
 */
export function describeFailure(err: unknown): { type: string; message: string; attempts?: number } {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure || (cur instanceof Error && !(cur instanceof ApplicationFailure) && (cur as { cause?: unknown }).cause)) {
    cur = (cur as { cause?: unknown }).cause;
  }
  if (cur instanceof ApplicationFailure) {
    const details = cur.details?.[0] as { attempt?: number } | undefined;
    return { type: cur.type ?? 'Error', message: cur.message, attempts: details?.attempt };
  }
  return { type: 'Error', message: err instanceof Error ? err.message : String(err) };
}
