/**
 * The ETL family's config block (seed 002): named pipelines, each a paginated HTTP source →
 * validation with a dead-letter table → CSV lookups → database + JSONL files on SFTP.
 *
 * ```json
 * "etl": { "pipelines": { "users": {
 *   "source": { "url": "http://127.0.0.1:8099/users", "page_size": 100, "records_key": "users",
 *               "auth_token": {"env": "USERS_API_TOKEN"}, "timeout_ms": 10000 },
 *   "validation": { "age": { "min": 18, "max": 65 }, "required": ["phone"], "patterns": { "phone": "^\\+" } },
 *   "lookups": [ { "file": "/data/departments.csv", "key_field": "company.department", "key_column": "department",
 *                  "columns": { "department_code": "code" }, "on_missing": "dead_letter" } ],
 *   "database": { "sqlite_path": "/data/db/app.db" },
 *   "sftp": "default", "remote_base": "/upload/tiis",
 *   "schedule": { "cron": "0 3 * * *" } } } }
 * ```
 * No Node built-ins here (workflow code may import the types).
 */
import { z } from 'zod';
import { pgpDeliveryObjectSchema, pgpDeliverySchema } from '../pgp/config';

const int = (min: number, max: number) =>
  z.number().int(`must be a whole number between ${min} and ${max}`).min(min, `must be a whole number between ${min} and ${max}`).max(max, `must be a whole number between ${min} and ${max}`);

export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const FIELD_PATH = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
const fieldPath = z.string().regex(FIELD_PATH, "must be a field path like 'email' or 'company.department'");
const paramName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be a query parameter name like 'limit'");
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'must be an HTTP header name');

export const etlSourceSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be the http:// or https:// URL of the list endpoint, e.g. https://dummyjson.com/users' }),
  page_size: int(1, 1000).default(100),
  limit_param: paramName.default('limit'),
  skip_param: paramName.default('skip'),
  /** the key of the record list in each page's JSON object */
  records_key: z.string().min(1, 'must name the key of the record list, e.g. "users"').default('users'),
  /** the key of the total count (the run stops at it; without it, at the first short page) */
  total_key: z.string().min(1).default('total'),
  /** stop after this many records (default: all) */
  max_records: int(1, 100_000_000).optional(),
  headers: z.record(headerName, z.string()).default({}),
  /** a secret API key (use {"env": "VAR"}), sent in the header `api_key_header` */
  api_key: z.string().min(1).optional(),
  api_key_header: headerName.default('X-Api-Key'),
  /** sent as `<auth_header>: <auth_scheme> <auth_token>` */
  auth_token: z.string().min(1).optional(),
  auth_header: headerName.default('Authorization'),
  auth_scheme: z.string().default('Bearer'),
  timeout_ms: int(100, 600_000).default(10_000),
  /** tries per page inside one attempt of `extract` (the seed's 3), backoff doubling from `backoff_ms` */
  attempts: int(1, 20).default(3),
  /** pages in flight at once (the one-pass extract; 1: one after the other) */
  concurrency: int(1, 16).default(4),
  backoff_ms: int(0, 60_000).default(500),
});

export const etlValidationSchema = z.strictObject({
  /** the seed's age range */
  age: z.strictObject({ min: z.number().default(18), max: z.number().default(65) }).prefault({}),
  /** more fields that must be present (besides id, firstName, email, age, company.department) */
  required: z.array(fieldPath).default([]),
  /** field → regular expression its (string) value must match */
  patterns: z
    .record(
      fieldPath,
      z.string().refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression'),
    )
    .default({}),
  /** field → the values it may take */
  one_of: z.record(fieldPath, z.array(z.union([z.string(), z.number(), z.boolean()])).min(1)).default({}),
});

export const etlLookupSchema = z.strictObject({
  /** a CSV file on the worker (or gs://bucket/object) with a header line */
  file: z.string().min(1, 'must be the path of the CSV file, e.g. /data/departments.csv'),
  /** the record's field whose value is looked up */
  key_field: fieldPath,
  /** the CSV column holding the key */
  key_column: z.string().min(1),
  /** field to add → CSV column to take it from, e.g. {"department_code": "code"} */
  columns: z.record(fieldPath, z.string().min(1)).refine((c) => Object.keys(c).length > 0, 'must name at least one column to add'),
  /** a key not in the file: the record becomes a dead letter (default), or gets null values */
  on_missing: z.enum(['dead_letter', 'null']).default('dead_letter'),
});

export const etlDatabaseSchema = z
  .strictObject({
    /** SQLite file (created if missing); the default database */
    sqlite_path: z.string().min(1).optional(),
    /** PostgreSQL instead: postgres://user@host:port/db (the password in postgres_password) */
    postgres_url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    postgres_password: z.string().min(1).optional(),
  })
  .refine((d) => !(d.sqlite_path && d.postgres_url), { message: 'set either sqlite_path or postgres_url, not both', path: ['postgres_url'] });

export const etlScheduleSchema = z.strictObject({
  cron: z.string().regex(/^(@\w+|(\S+\s+){4,6}\S+)$/, "must be a cron expression like '0 3 * * *'").default('0 3 * * *'),
  timezone: z.string().default('UTC'),
  paused: z.boolean().default(false),
  enabled: z.boolean().default(true),
});

export const etlPipelineSchema = z.strictObject({
  source: etlSourceSchema,
  validation: etlValidationSchema.prefault({}),
  lookups: z.array(etlLookupSchema).default([]),
  database: etlDatabaseSchema.prefault({}),
  /** the SFTP connection's name (`default`: the top-level `sftp` block) */
  sftp: z.string().min(1).default('default'),
  /** folder on the SFTP server; the run's files go to <remote_base>/{raw_users,processed_users,dlq}/ */
  remote_base: z
    .string()
    .refine((p) => p.startsWith('/'), 'must be an absolute path on the SFTP server, e.g. /upload/etl')
    .refine((p) => !p.split('/').includes('..'), "must not contain '..' segments")
    .optional(),
  /** where the run's files are staged in the GCS bucket (default etl/<pipeline>/) */
  staging_prefix: z.string().regex(/^[A-Za-z0-9_./-]*$/, "must be an object-name prefix of letters, digits, '_', '.', '/' and '-'").optional(),
  schedule: etlScheduleSchema.prefault({}),
  /** encrypt (and sign) the three files with OpenPGP while they stream to SFTP, as an export's `pgp` (src/pgp/config.ts) */
  pgp: pgpDeliverySchema.optional(),
});

export const etlSchema = z.strictObject({
  /** default SQLite file for pipelines without a database (relative: to the worker's folder) */
  sqlite_path: z.string().min(1).default('etl.db'),
  pipelines: z.record(z.string().regex(PIPELINE_NAME_PATTERN, "is not a valid pipeline name: use 1-64 letters, digits, '_' or '-'"), etlPipelineSchema).default({}),
});

export type EtlConfig = z.output<typeof etlSchema>;
export type EtlPipelineConfig = z.output<typeof etlPipelineSchema>;
export type EtlSourceConfig = z.output<typeof etlSourceSchema>;
export type EtlValidationConfig = z.output<typeof etlValidationSchema>;
export type EtlLookupConfig = z.output<typeof etlLookupSchema>;

/** For the top-level STRICT_OBJECTS ("did you mean" hints). */
export const ETL_STRICT_OBJECTS: Record<string, { shape: object }> = {
  etl: etlSchema,
  'etl.pipelines.*': etlPipelineSchema,
  'etl.pipelines.*.source': etlSourceSchema,
  'etl.pipelines.*.validation': etlValidationSchema,
  'etl.pipelines.*.database': etlDatabaseSchema as unknown as { shape: object },
  'etl.pipelines.*.schedule': etlScheduleSchema,
  'etl.pipelines.*.pgp': pgpDeliveryObjectSchema,
};
