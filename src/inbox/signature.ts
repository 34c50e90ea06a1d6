/**
 * The signature of an inbox batch request (documented in the README, "Inbox"):
 *
 *   X-Timestamp:     <unix seconds>
 *   X-Signature:     sha256=<hex HMAC-SHA256(secret, "<X-Timestamp>.<exact request body>")>
 *   Idempotency-Key: <batch id>   (the same on every retry of the batch)
 *
 * A receiver recomputes the HMAC over the raw body bytes, compares in constant time, and refuses
 * timestamps more than a few minutes away from its clock (replays).
 */
import crypto from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-timestamp';
export const SIGNATURE_HEADER = 'x-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function signBody(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = crypto.createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

export function signatureHeaders(secret: string, body: string, idempotencyKey: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signBody(secret, timestamp, body),
    [IDEMPOTENCY_HEADER]: idempotencyKey,
  };
}

/** Why a request's signature is not valid, or undefined when it is. */
export function signatureProblem(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  opts: { toleranceSec?: number; now?: number } = {},
): string | undefined {
  const ts = String(headers[TIMESTAMP_HEADER] ?? '');
  const sig = String(headers[SIGNATURE_HEADER] ?? '');
  if (!/^\d{1,12}$/.test(ts)) return `missing or malformed ${TIMESTAMP_HEADER}`;
  if (Math.abs((opts.now ?? Date.now()) / 1000 - Number(ts)) > (opts.toleranceSec ?? 300)) return 'timestamp too far from now';
  const expected = Buffer.from(signBody(secret, Number(ts), rawBody));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return 'signature does not match';
  return undefined;
}
