/**
 * Config of the ingest family (seed 001): the PostgreSQL connection and the tenants whose
 * BigQuery events and SFTP report files are loaded into it. No Node built-ins here.
 */
import { z } from 'zod';
import { EVENT_TYPES } from './event-types';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_-]{0,1023}$/;

const int = (min: number, max: number) =>
  z.number().int(`must be a whole number between ${min} and ${max}`).min(min, `must be a whole number between ${min} and ${max}`).max(max, `must be a whole number between ${min} and ${max}`);

const absoluteFolder = z
  .string()
  .refine((p) => p.startsWith('/'), 'must be an absolute folder on the SFTP server, e.g. /upload/reports')
  .refine((p) => !p.split('/').includes('..'), "must not contain '..' segments")
  .transform((p) => '/' + p.split('/').filter((x) => x !== '' && x !== '.').join('/'));

/** A file-name glob: `*` and `?` only, no folders. */
const pattern = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => !p.includes('/'), "must be a file-name pattern like 'users_*.csv' (no '/'; the folder goes in `folder`)");

export const postgresSchema = z.strictObject({
  /** postgres://user:password@host:port/db — a secret when it holds a password: use {"env": "DATABASE_URL"} */
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL, e.g. postgres://user@127.0.0.1:5433/bqsftp').optional(),
  max_connections: int(1, 100).default(10),
  /** run the migrations when a worker starts (they are idempotent) */
  migrate_on_start: z.boolean().default(true),
});

export const reportFileSchema = (defaultPattern: string) =>
  z.strictObject({
    folder: absoluteFolder,
    pattern: pattern.default(defaultPattern),
    delimiter: z.string().refine((d) => d.length === 1 || d.toLowerCase() === 'tab', "must be one character (or 'tab')").default(','),
    /** the share of rows with a bad value that still lets the file load (the bad rows are skipped and reported) */
    max_bad_share: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').default(0.1),
  });

export const tenantBigquerySchema = z.strictObject({
  project_id: z.string().min(1, 'must not be empty'),
  dataset: z.string().regex(IDENT, "must be a BigQuery dataset name (letters, digits, '_')"),
  location: z.string().min(1).optional(),
  /** default: the top-level bigquery.api_endpoint (emulator), else Google's */
  api_endpoint: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  /** credentials by reference: a service-account key file, or the name of an env var holding its JSON; default ADC */
  key_file: z.string().min(1).optional(),
  credentials_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable').optional(),
  /** the BigQuery table of an event type, when it is not named like the type */
  tables: z.partialRecord(z.enum(EVENT_TYPES), z.string().regex(IDENT, 'must be a table name')).default({}),
  /**
   * delete each query job (its metadata) once its rows are read. For the BigQuery emulator, which
   * loads every stored job with its whole result on every request, so each job left behind makes
   * every later request slower; against BigQuery itself leave it off (the job history stays).
   */
  delete_query_jobs: z.boolean().default(false),
});

export const tenantScheduleSchema = z.strictObject({
  enabled: z.boolean().default(true),
  cron: z.string().min(1).default('0 7 * * *'),
  timezone: z.string().min(1).default('UTC'),
  paused: z.boolean().default(false),
});

export const tenantSchema = z.strictObject({
  name: z.string().min(1).optional(),
  bigquery: tenantBigquerySchema,
  /** an SFTP connection by name (top-level `sftp` = "default") */
  sftp: z.string().min(1).default('default'),
  users_file: reportFileSchema('users_*.csv').optional(),
  locations_file: reportFileSchema('locations_*.csv').optional(),
  event_types: z
    .array(z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }))
    .min(1, 'must list at least one event type, or be left out (all six)')
    .default([...EVENT_TYPES]),
  /** ingest yesterday daily (`bq-sftp schedules sync` creates the schedule) */
  schedule: tenantScheduleSchema.optional(),
});

export const apiTokenSchema = z.strictObject({
  /** the bearer token (a secret: use {"env": "VAR"}) */
  token: z.string().min(16, 'must be at least 16 characters (use {"env": "VAR"} to keep it out of the file)'),
  /** the tenants this token may act for */
  tenants: z.array(z.string().regex(TENANT_ID, 'must be a tenant ID')).min(1, 'must list at least one tenant'),
});

export const ingestSchema = z.strictObject({
  /** a job fails after this long (env JOB_TIMEOUT_SECONDS overrides it when a job is started) */
  job_timeout_seconds: int(1, 7 * 86400).default(1800),
  /** event types loaded at once per job */
  max_parallel: int(1, 16).default(6),
  /** rows asked for per BigQuery page (BigQuery caps a page at ~10 MB; pages are streamed, so a large one costs no memory, only fewer round trips) */
  page_rows: int(100, 100_000).default(100_000),
  tenants: z.record(z.string().regex(TENANT_ID, "is not a valid tenant ID: use 1-64 letters, digits, '_' or '-'"), tenantSchema).default({}),
  /** bearer tokens limited to some tenants (`http.auth_token` may act for every tenant) */
  api_tokens: z.record(z.string().regex(TENANT_ID, "use 1-64 letters, digits, '_' or '-'"), apiTokenSchema).default({}),
});

export type PostgresConfig = z.output<typeof postgresSchema>;
export type IngestConfig = z.output<typeof ingestSchema>;
export type TenantConfig = z.output<typeof tenantSchema>;
export type ReportFileConfig = z.output<ReturnType<typeof reportFileSchema>>;

/** Entries for STRICT_OBJECTS in src/config/schema.ts (did-you-mean hints). */
export const INGEST_STRICT_OBJECTS = {
  postgres: postgresSchema,
  ingest: ingestSchema,
  'ingest.tenants.*': tenantSchema,
  'ingest.tenants.*.bigquery': tenantBigquerySchema,
  'ingest.tenants.*.schedule': tenantScheduleSchema,
  'ingest.api_tokens.*': apiTokenSchema,
} as const;
