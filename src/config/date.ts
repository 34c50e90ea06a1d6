/**
 * Run dates: the logical day an export covers, always `YYYY-MM-DD`.
 * No Node built-ins here: workflow code may import this module.
 */
import { ConfigError } from './errors';

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date written as `YYYY-MM-DD` (rejects `2025-02-30`, `2025-2-3`, anything extra). */
export function isRunDate(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  const m = DATE_PATTERN.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const daysInMonth = new Date(Date.UTC(2000, mo, 0)).getUTCDate(); // leap-year agnostic first
  if (d > daysInMonth) return false;
  if (mo === 2 && d === 29) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return true;
}

/**
 * Validates a run date and returns it unchanged; throws `ConfigError` type `InvalidDate`.
 * This is the only way a date reaches a query's `{date}`, so nothing else can be pasted into SQL.
 */
export function parseRunDate(s: string): string {
  if (isRunDate(s)) return s;
  const shown = typeof s === 'string' ? JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s) : String(s);
  const message = `invalid date ${shown}: expected a calendar date as YYYY-MM-DD, e.g. 2025-01-08`;
  throw new ConfigError({ type: 'InvalidDate', message, issues: [{ path: 'date', message }] });
}

/** `2025-01-08` → `20250108` (the GCS folder and file-name form). */
export function compactRunDate(date: string): string {
  return parseRunDate(date).replace(/-/g, '');
}

/** The default logical date: yesterday (UTC), like a daily schedule's `ds`. */
export function yesterday(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
  return d.toISOString().slice(0, 10);
}
