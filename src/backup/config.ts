/**
 * The backup family's config block (seed 003): `backups.<name>` = one BigQuery dataset (or a list
 * of its tables) backed up to an off-site destination on a schedule. No Node built-ins here.
 */
import { z } from 'zod';
import { pgpBackupSchema } from '../pgp/config';
// (no import of ../config/schema: it imports this module)
const CONNECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const BACKUP_FORMATS = ['PARQUET', 'AVRO', 'JSON', 'CSV'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];
export const BACKUP_COMPRESSIONS = ['NONE', 'SNAPPY', 'GZIP', 'DEFLATE', 'ZSTD'] as const;
export type BackupCompression = (typeof BACKUP_COMPRESSIONS)[number];

/** What BigQuery's extract jobs accept per format (the first is our default). */
export const BACKUP_COMPRESSION_BY_FORMAT: Record<BackupFormat, readonly BackupCompression[]> = {
  PARQUET: ['SNAPPY', 'NONE', 'GZIP', 'ZSTD'],
  AVRO: ['SNAPPY', 'NONE', 'DEFLATE'],
  JSON: ['NONE', 'GZIP'],
  CSV: ['NONE', 'GZIP'],
};

export const BACKUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const BACKUP_NAME_RULE = "is not a valid backup name: use 1-64 letters, digits, '_' or '-', starting with a letter or digit";
export const PATH_PLACEHOLDERS = ['backup', 'project', 'dataset', 'table', 'date', 'date_nodash'] as const;
export const DEFAULT_BACKUP_PATH = 'GCP/bigquery/{dataset}/{table}/{date}/';

const nonEmpty = z.string().min(1, 'must not be empty');
const int = (min: number, max: number) =>
  z
    .number()
    .int(`must be a whole number between ${min} and ${max}`)
    .min(min, `must be a whole number between ${min} and ${max}`)
    .max(max, `must be a whole number between ${min} and ${max}`);
const upperEnum = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(values));
const bigQueryId = (what: string) =>
  z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, `must be a BigQuery ${what} id: letters, digits and '_'`);

function isControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Problems with a destination path template, or undefined. */
export function pathTemplateProblem(t: string): string | undefined {
  const unknown = [...t.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((p) => !(PATH_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length) return `unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')}: use ${PATH_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`;
  if (isControl(t) || t.includes('\\')) return "must not contain control characters or '\\'";
  const segs = t.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '..' || s === '.')) return "must not contain '.' or '..' folders";
  const table = segs.indexOf('{table}');
  const date = segs.indexOf('{date}') >= 0 ? segs.indexOf('{date}') : segs.indexOf('{date_nodash}');
  if (table < 0 || date < 0 || date < table) {
    return "must have a folder {table} and, below it, a folder {date} (or {date_nodash}), e.g. 'GCP/bigquery/{dataset}/{table}/{date}/'";
  }
  if (segs.slice(0, table).some((s) => s.includes('{table}') || s.includes('{date'))) return '{table} and {date} must be whole folder names';
  return undefined;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const CRON = /^(@(yearly|annually|monthly|weekly|daily|hourly)|([0-9A-Za-z*?,/#LW-]+\s+){4,6}[0-9A-Za-z*?,/#LW-]+)$/;

export const backupScheduleSchema = z.strictObject({
  cron: z.string().refine((c) => CRON.test(c.trim()), "must be a cron expression like '0 2 * * *' (the seed's daily 2:00 UTC)"),
  timezone: z.string().refine(isTimeZone, "must be an IANA time zone like 'UTC' or 'Europe/Berlin'").default('UTC'),
  paused: z.boolean().default(false),
});

export const BOX_AUTH = ['ccg', 'jwt'] as const;

/**
 * Where the backup files go. `type` picks the fields that apply (one flat object, so a misspelt
 * key gets a "did you mean"): sftp (`sftp` connection name, `directory`), gcs (`bucket`), box
 * (`folder_id`, `auth` and its secret).
 */
export const backupDestinationSchema = z
  .strictObject({
    type: z.enum(['sftp', 'gcs', 'box'], "must be 'sftp', 'gcs' or 'box'"),
    /** sftp: the named SFTP connection (default `default`) */
    sftp: z.string().regex(CONNECTION_NAME_PATTERN, 'must be a connection name').optional(),
    /** sftp: the base folder (default: the connection's directory) */
    directory: z
      .string()
      .refine((p) => p.startsWith('/') && !p.split('/').includes('..') && !isControl(p), "must be an absolute path without '..', e.g. /upload/backups")
      .optional(),
    /** gcs: the off-site bucket */
    bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a valid GCS bucket name').optional(),
    project_id: nonEmpty.optional(),
    api_endpoint: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** box: the folder under which the path is created (default `0`, the root) */
    folder_id: z.string().regex(/^\d{1,20}$/, 'must be a Box folder id (digits)').default('0'),
    auth: z.enum(BOX_AUTH, "must be 'ccg' (client credentials) or 'jwt'").optional(),
    client_id: nonEmpty.optional(),
    client_secret: nonEmpty.optional(),
    enterprise_id: nonEmpty.optional(),
    user_id: nonEmpty.optional(),
    /** box jwt: the JSON config Box's developer console downloads (reference it with {"env": "..."}) */
    jwt_config_secret: nonEmpty.optional(),
    /** box: API base URLs (a stand-in's in tests) */
    base_url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    upload_url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** box: files above this size go through a chunked upload session (Box's minimum is 20 MB) */
    chunked_threshold_bytes: int(1, 50 * 1024 ** 3).default(50 * 1024 * 1024),
  })
  .superRefine((d, ctx) => {
    const need = (field: keyof typeof d, why: string) => {
      if (d[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required for a ${d.type} destination: ${why}` });
    };
    const forbid = (fields: (keyof typeof d)[]) => {
      for (const f of fields) {
        if (d[f] !== undefined && !(f === 'folder_id' && d.folder_id === '0') && !(f === 'chunked_threshold_bytes')) {
          ctx.addIssue({ code: 'custom', path: [f], message: `does not apply to a ${d.type} destination: remove it` });
        }
      }
    };
    const box = ['folder_id', 'auth', 'client_id', 'client_secret', 'enterprise_id', 'user_id', 'jwt_config_secret', 'base_url', 'upload_url'] as const;
    if (d.type === 'sftp') forbid(['bucket', 'project_id', 'api_endpoint', ...box]);
    if (d.type === 'gcs') {
      need('bucket', 'the bucket to copy the backup files to');
      forbid(['sftp', 'directory', ...box]);
    }
    if (d.type === 'box') {
      forbid(['sftp', 'directory', 'bucket', 'project_id', 'api_endpoint']);
      need('auth', "'ccg' (client_id, client_secret, enterprise_id or user_id) or 'jwt' (jwt_config_secret)");
      if (d.auth === 'ccg') {
        need('client_id', 'the Box app\'s client id');
        need('client_secret', 'the Box app\'s client secret (use {"env": "BOX_CLIENT_SECRET"})');
        if (d.enterprise_id === undefined && d.user_id === undefined) {
          ctx.addIssue({ code: 'custom', path: ['enterprise_id'], message: 'set enterprise_id (service account) or user_id for client-credentials auth' });
        }
      }
      if (d.auth === 'jwt') need('jwt_config_secret', 'the JSON config of the Box JWT app (use {"env": "BOX_JWT_CONFIG"})');
    }
  });

export const backupObjectSchema = z
  .strictObject({
    /** the BigQuery project (default: bigquery.project_id) */
    project_id: nonEmpty.optional(),
    dataset: bigQueryId('dataset'),
    /** only these tables (default: every table of the dataset; views are always skipped) */
    tables: z.array(bigQueryId('table')).min(1, 'must list at least one table, or be left out').optional(),
    format: upperEnum(BACKUP_FORMATS).default('PARQUET'),
    /** default: SNAPPY for Parquet and Avro, NONE for JSON and CSV */
    compression: upperEnum(BACKUP_COMPRESSIONS).optional(),
    /**
     * who writes Parquet: `auto` (BigQuery's extract where the service can, probed once per worker;
     * else the worker reads the rows with tabledata.list and writes Parquet), `bigquery` or `worker`.
     */
    parquet_writer: z.enum(['auto', 'bigquery', 'worker']).default('auto'),
    destination: backupDestinationSchema,
    path: z
      .string()
      .superRefine((t, ctx) => {
        const problem = pathTemplateProblem(t);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(DEFAULT_BACKUP_PATH),
    schedule: backupScheduleSchema.optional(),
    /** keep the last N backups (dates) per table at the destination; older ones are removed */
    retention: int(1, 10_000).optional(),
    /** delete the GCS staging objects after a verified copy (default yes, as the seed) */
    delete_staging: z.boolean().default(true),
    /** the staging bucket (default gcs.bucket) */
    staging_bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a valid GCS bucket name').optional(),
    /** tables backed up at once */
    max_parallel_tables: int(1, 32).default(3),
    /** rows per Parquet file written by the worker */
    rows_per_file: int(1000, 100_000_000).default(5_000_000),
    enabled: z.boolean().default(true),
    /** encrypt (and sign) every file with OpenPGP while it streams to the destination; verify and restore decrypt (src/pgp/config.ts) */
    pgp: pgpBackupSchema.optional(),
  })
  .superRefine(
    (b, ctx) => {
      if (b.pgp !== undefined && (b.destination as { type?: unknown } | undefined)?.type === 'box') {
        ctx.addIssue({
          code: 'custom',
          path: ['pgp'],
          message: "is not available for a box destination (Box's chunked upload needs the file's size before it starts; an encrypted file's size is known only at its end): use an sftp or gcs destination",
        });
      }
      const format = b.format as string;
      if (b.compression === undefined || !(format in BACKUP_COMPRESSION_BY_FORMAT)) return;
      const allowed = BACKUP_COMPRESSION_BY_FORMAT[format as BackupFormat];
      if (!allowed.includes(b.compression as BackupCompression)) {
        ctx.addIssue({ code: 'custom', path: ['compression'], message: `${String(b.compression)} is not available for ${format} backups: use ${allowed.join(', ')}` });
      }
    },
    { when: (p) => p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value) },
  );

export const backupSchema = backupObjectSchema.transform((b) => ({ ...b, compression: b.compression ?? BACKUP_COMPRESSION_BY_FORMAT[b.format][0] }));

export const backupsSchema = z.record(z.string().regex(BACKUP_NAME_PATTERN, BACKUP_NAME_RULE), backupSchema).default({});

export type BackupConfig = z.output<typeof backupSchema>;
export type BackupDestinationConfig = BackupConfig['destination'];

const has = (v: unknown) => v !== undefined && v !== '';
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Config-wide check (run by the config schema): a backup with a `pgp` block needs a key that reads
 * it back, its own `decryption_private_key(_path)` or the top-level `pgp.decryption_private_key(_path)`.
 */
export function checkBackupDecryption(cfg: { backups?: unknown; pgp?: unknown }, ctx: z.RefinementCtx): void {
  if (!isObj(cfg.backups)) return;
  const top = isObj(cfg.pgp) ? cfg.pgp : {};
  const topKey = has(top.decryption_private_key) || has(top.decryption_private_key_path);
  for (const [name, b] of Object.entries(cfg.backups)) {
    const pgp = isObj(b) ? b.pgp : undefined;
    if (!isObj(pgp) || topKey || has(pgp.decryption_private_key) || has(pgp.decryption_private_key_path)) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['backups', name, 'pgp', 'decryption_private_key'],
      message:
        'required: verify and restore decrypt the backup with it (each file is encrypted to it as well as to the recipients): set it ({"env": …}) or decryption_private_key_path, or the top-level pgp.decryption_private_key',
    });
  }
}
