/**
 * The inbox family's config (seed 004): `inboxes.<name>` blocks. No Node built-ins here (the
 * workflow bundle may import it for the types).
 */
import { z } from 'zod';

export const INBOX_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const INBOX_NAME_RULE = "is not a valid inbox name: use 1-64 letters, digits, '_' or '-', starting with a letter or digit";

function controlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** A folder below the inbox's `path`: relative, no `..`, no control characters. */
const subFolder = (example: string) =>
  z
    .string()
    .min(1, `must be a folder name below the inbox path, e.g. '${example}'`)
    .refine((p) => !p.startsWith('/'), `must be relative to the inbox path (no leading '/'), e.g. '${example}'`)
    .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), "must not contain '.' or '..' segments")
    .refine((p) => !controlChars(p) && !p.includes('\\'), "must not contain control characters or '\\'")
    .transform((p) => p.split('/').filter(Boolean).join('/'));

const int = (min: number, max: number) =>
  z
    .number()
    .int(`must be a whole number between ${min} and ${max}`)
    .min(min, `must be a whole number between ${min} and ${max}`)
    .max(max, `must be a whole number between ${min} and ${max}`);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
/** '1m', '30s', '1500ms', '2h' → milliseconds; undefined when not a duration. */
export function durationMs(s: string): number | undefined {
  const m = DURATION.exec(s.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h']);
}

const duration = (min: number, what: string) =>
  z
    .string()
    .refine((s) => durationMs(s) !== undefined, `must be a duration like '1m', '30s' or '1500ms'`)
    .refine((s) => (durationMs(s) ?? min) >= min, `must be at least ${what}`);

/** A glob with `*` and `?` (no folders), matched case-insensitively against file names. */
const pattern = z
  .string()
  .min(1, "must be a file name pattern like '*.pdf'")
  .refine((p) => !p.includes('/') && !controlChars(p), "must be a file name pattern without '/' or control characters, like '*.pdf'");

export const inboxApiSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be the http:// or https:// URL the batches are POSTed to' }),
  /** the HMAC-SHA256 key; give it as {"env": "VAR"} so it stays out of config files */
  secret: z.string().min(16, 'must be at least 16 characters (the HMAC-SHA256 key; use {"env": "INBOX_API_SECRET"})'),
  profile_code: z.string().min(1, 'must not be empty').default('default'),
  uploaded_by: z.string().min(1, 'must not be empty').default('Admin'),
  source: z.string().min(1, 'must not be empty').default('SFTP'),
  timeout_ms: int(100, 600_000).default(30_000),
  /** attempts in all (network errors, 429 and 5xx are retried with backoff, honouring Retry-After) */
  max_attempts: int(1, 100).default(8),
  retry_initial_ms: int(10, 600_000).default(1000),
  retry_max_ms: int(10, 3_600_000).default(60_000),
});

export const inboxSchema = z.strictObject({
  /** the named SFTP connection (default: `default`, the top-level `sftp` block) */
  sftp: z.string().min(1).optional(),
  /** the inbox's base folder on the SFTP server */
  path: z
    .string()
    .refine((p) => p.startsWith('/'), 'must be an absolute path on the SFTP server, e.g. /upload/inbox')
    .refine((p) => !controlChars(p), 'must not contain control characters')
    .refine((p) => !p.split('/').includes('..'), "must not contain '..' segments")
    .transform((p) => '/' + p.split('/').filter((s) => s && s !== '.').join('/')),
  source_dir: subFolder('input').default('input'),
  in_progress_dir: subFolder('in_progress').default('in_progress'),
  failed_dir: subFolder('failed').default('failed'),
  /** on success move the files here (MMDDYYYY subfolder); by default they stay in in_progress */
  done_dir: subFolder('done').optional(),
  pattern: pattern.default('*.pdf'),
  /**
   * OpenPGP uploads (`*.pgp`, `*.gpg`, `*.asc`, matched by the pattern with or without that suffix)
   * are decrypted with the top-level `pgp` key (signature checked against `pgp.verification_keys`)
   * before they are batched. Default: whenever the top-level `pgp` block has a decryption key.
   */
  decrypt: z.boolean().optional(),
  batch_size: int(1, 1000).default(5),
  /** a file is complete when its size and mtime did not change across this delay */
  stable_for: duration(0, '0ms').default('1200ms'),
  /** and (optionally) when its mtime is at least this old */
  min_age: duration(0, '0ms').default('0ms'),
  poll_interval: duration(1000, '1s').default('1m'),
  /** the time zone of the MMDDYYYY folders */
  timezone: z.string().refine(isTimeZone, "must be an IANA time zone like 'UTC' or 'America/New_York'").default('UTC'),
  /** in_progress folders of the last N days are checked for stranded files at each poll */
  recover_days: int(1, 3650).default(7),
  max_parallel_batches: int(1, 64).default(4),
  paused: z.boolean().default(false),
  enabled: z.boolean().default(true),
  api: inboxApiSchema,
});

export const inboxesSchema = z.record(z.string().regex(INBOX_NAME_PATTERN, INBOX_NAME_RULE), inboxSchema).default({});

export type InboxConfig = z.output<typeof inboxSchema>;
