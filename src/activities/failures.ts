import { activityInfo, ApplicationFailure, CancelledFailure } from '@temporalio/activity';

/** Errors of our own modules carry a stable `type` and whether retrying can help. */
interface TypedError extends Error {
  type: string;
  retryable: boolean;
}

// Both fields: the HTTP clients' FetchError has a `type` too ('system'), and must be classified by its code.
function isTypedError(err: unknown): err is TypedError {
  return err instanceof Error && typeof (err as TypedError).type === 'string' && typeof (err as TypedError).retryable === 'boolean';
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

function errorCode(err: Error): string | undefined {
  const e = err as Error & { code?: unknown; cause?: { code?: unknown } };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.cause?.code === 'string') return e.cause.code;
  return undefined;
}

/**
 * Every activity error leaves as an ApplicationFailure with a stable `type`, `nonRetryable` for
 * permanent problems, the service it concerns in the message, and the attempt in its details
 * (so the failure notice can say how many attempts were made).
 */
export function toApplicationFailure(err: unknown, service: string): Error {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  const attempt = activityInfo().attempt;
  if (isTypedError(err)) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: !err.retryable,
      details: [{ attempt, service }],
    });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const code = errorCode(e);
  if (code && UNAVAILABLE_CODES.has(code)) {
    return ApplicationFailure.create({
      type: 'ServiceUnavailable',
      message: `${service} is unreachable (${code}): ${e.message}. It is retried; check that ${service} is up.`,
      details: [{ attempt, service }],
    });
  }
  return ApplicationFailure.create({ type: 'Error', message: `${service}: ${e.message}`, details: [{ attempt, service }] });
}

export async function withFailureMapping<T>(service: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApplicationFailure(err, service);
  }
}

/** A permanent failure raised by an activity itself. */
export function permanentFailure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ attempt: activityInfo().attempt }] });
}
