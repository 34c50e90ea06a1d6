/**
 * The bq-sftp config: one zod schema, the only source of the `Config` type.
 *
 * JSON keys are snake_case like the seed's `configs/exports.json`. Every object is strict, so a
 * misspelt key is an error, never silently ignored. Defaults are filled in here; after parsing,
 * every export also has its `destination` (default: `sftp.directory`) and `file_prefix`
 * (default: the export name) resolved, so consumers never re-implement those defaults.
 *
 * No Node built-ins here: workflow code may import this module (e.g. for the types).
 */
import { z } from 'zod';
import { ENCRYPTION_KEYS_ENV, KEY_ID_PATTERN, parseKeyRing } from '../codec/keys';
import { backupDestinationSchema, backupObjectSchema, backupScheduleSchema, backupsSchema, checkBackupDecryption } from '../backup/config';
import { inboxApiSchema, inboxesSchema, inboxSchema } from '../inbox/config';
import { ETL_STRICT_OBJECTS, etlSchema } from '../etl/config';
import { INGEST_STRICT_OBJECTS, ingestSchema, postgresSchema } from '../ingest/config';
import { PGP_STRICT_OBJECTS, pgpDeliverySchema, pgpInboundSchema } from '../pgp/config';
import { METRICS_STRICT_OBJECTS, metricsSchema } from '../metrics/config';

// ---------------------------------------------------------------------------------------------
// Reusable field validators

const nonEmptyString = (message = 'must not be empty') => z.string().min(1, message);

const int = (min: number, max: number) =>
  z
    .number()
    .int(`must be a whole number between ${min} and ${max}`)
    .min(min, `must be a whole number between ${min} and ${max}`)
    .max(max, `must be a whole number between ${min} and ${max}`);

const httpUrl = (what = 'an http:// or https:// URL') =>
  z.url({ protocol: /^https?$/, error: `must be ${what}` });

/** An absolute POSIX path, normalised: no `..` segments, duplicate or trailing slashes removed. */
const absolutePosixPath = (example: string) =>
  z
    .string()
    .refine((p) => p.startsWith('/'), `must be an absolute path on the SFTP server, e.g. ${example}`)
    .refine((p) => !hasControlChars(p), 'must not contain control characters')
    .refine((p) => !p.split('/').includes('..'), "must not contain '..' segments")
    .transform(normalisePosixPath);

const validPort = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;

/** NUL, other C0 control characters or DEL. */
export function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function normalisePosixPath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return '/' + parts.join('/');
}

/** Problem with a GCS bucket name, following https://cloud.google.com/storage/docs/buckets#naming. */
export function bucketNameProblem(name: string): string | undefined {
  const rule =
    "must be a valid GCS bucket name: 3-63 characters of lower-case letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) return rule;
  const components = name.split('.');
  if (components.some((c) => c === '')) return `${rule} (no empty parts between dots)`;
  if (name.includes('.')) {
    if (name.length > 222 || components.some((c) => c.length > 63)) {
      return 'must be at most 222 characters, with at most 63 between dots';
    }
  } else if (name.length < 3 || name.length > 63) {
    return rule;
  }
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not look like an IP address';
  if (name.startsWith('goog') || /g[o0]{2}g[l1]e/.test(name)) {
    return 'must not start with "goog" or contain "google"';
  }
  return undefined;
}

const SHA256_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
// [marker] [hosts] keytype base64 [comment], as in ~/.ssh/known_hosts (hosts may be omitted).
const KNOWN_HOSTS_LINE =
  /^(?:@(?:cert-authority|revoked)\s+)?(?:\S+\s+)?(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)(?:@openssh\.com)?\s+[A-Za-z0-9+/]+={0,3}(?:\s+.*)?$/;

export function isHostKeyPin(s: string): boolean {
  return SHA256_FINGERPRINT.test(s.trim()) || KNOWN_HOSTS_LINE.test(s.trim());
}

function looksLikePrivateKey(s: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(s) || s.startsWith('PuTTY-User-Key-File-');
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const CRON_MACRO = /^@(yearly|annually|monthly|weekly|daily|hourly|every\s+\S+)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#LW-]+$/;
/** A 5-field cron expression (Temporal also takes 6/7 fields and @daily-style macros). */
export function isCronExpression(s: string): boolean {
  const t = s.trim();
  if (CRON_MACRO.test(t)) return true;
  const fields = t.split(/\s+/);
  return fields.length >= 5 && fields.length <= 7 && fields.every((f) => CRON_FIELD.test(f));
}

const cron = z.string().refine(isCronExpression, "must be a cron expression like '0 6 * * *'");
const timezone = z.string().refine(isTimeZone, "must be an IANA time zone like 'UTC' or 'Europe/Berlin'");
const DURATION = /^\d+(\.\d+)?\s*(ms|s|m|h|d|w|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)$/i;
const duration = z.string().regex(DURATION, "must be a duration like '1d', '12h' or '30m'");

/** Accepts lower-case spellings of an upper-case enum and normalises them. */
const upperEnum = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(values));

// ---------------------------------------------------------------------------------------------
// Blocks

/**
 * Cross-field checks run even when other fields failed, so every problem is reported at once
 * (but only on an object: a missing or wrong-typed block has its own issue already).
 */
const RUN_ALWAYS = {
  when: (payload: { value: unknown }) =>
    payload.value !== null && typeof payload.value === 'object' && !Array.isArray(payload.value),
};

export const temporalTlsSchema = z.strictObject({
  cert_path: nonEmptyString(),
  key_path: nonEmptyString(),
  ca_path: nonEmptyString().optional(),
  server_name: nonEmptyString().optional(),
});

export const temporalSchema = z
  .strictObject({
    address: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
      .refine((a) => !/:\d+$/.test(a) || validPort(Number(a.slice(a.lastIndexOf(':') + 1))), 'must be host:port with a port from 1 to 65535')
      .default('127.0.0.1:7233'),
    namespace: nonEmptyString().default('default'),
    task_queue: nonEmptyString().default('bq-sftp'),
    ui_url: httpUrl().default('http://127.0.0.1:8233'),
    api_key: nonEmptyString().optional(),
    tls: temporalTlsSchema.optional(),
  });

/**
 * Payload encryption (off unless `keys` is set). `keys` is the key ring `id:base64,...`, normally
 * from BQSFTP_ENCRYPTION_KEYS; `key_id` encrypts (default: the first key listed), all keys decrypt.
 */
export const encryptionObjectSchema = z
  .strictObject({
    key_id: z.string().regex(KEY_ID_PATTERN, "must be 1-64 letters, digits, '.', '_' or '-'").optional(),
    keys: z.string().optional(),
  })
  .superRefine(
    (enc, ctx) => {
      // RUN_ALWAYS: a wrong-typed field has its own issue already
      if (enc.keys !== undefined && typeof enc.keys !== 'string') return;
      if (enc.keys === undefined || enc.keys.trim() === '') {
        if (enc.key_id !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['keys'],
            message: `required when encryption.key_id is set: set ${ENCRYPTION_KEYS_ENV}="<id>:<base64 of 32 bytes>,..." (keep key material out of config files)`,
          });
        }
        return;
      }
      const { entries, problems } = parseKeyRing(enc.keys);
      for (const message of problems) ctx.addIssue({ code: 'custom', path: ['keys'], message });
      if (problems.length === 0 && typeof enc.key_id === 'string' && !entries.some((e) => e.id === enc.key_id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['key_id'],
          message: `"${enc.key_id}" is not among the encryption keys (${entries.map((e) => e.id).join(', ')}): add it to ${ENCRYPTION_KEYS_ENV} or use one of those`,
        });
      }
    },
    RUN_ALWAYS,
  );

export const encryptionSchema = encryptionObjectSchema.transform((enc) =>
  enc.keys ? { ...enc, key_id: enc.key_id ?? parseKeyRing(enc.keys).entries[0].id } : enc,
);

export const bigquerySchema = z
  .strictObject({
    project_id: nonEmptyString().optional(),
    api_endpoint: httpUrl().optional(),
    location: nonEmptyString().default('US'),
  });

export const gcsSchema = z.strictObject({
  bucket: z.string().superRefine((name, ctx) => {
    const problem = bucketNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  expiration_days: int(1, 3650).default(30),
  project_id: nonEmptyString().optional(),
  api_endpoint: httpUrl().optional(),
});

export const CONNECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const CONNECTION_NAME_RULE = "must be a connection name: 1-64 letters, digits, '_' or '-', starting with a letter or digit";
export const connectionName = z.string().regex(CONNECTION_NAME_PATTERN, CONNECTION_NAME_RULE);

export const SFTP_AUTH_MESSAGE =
  'set sftp.password, or sftp.private_key / sftp.private_key_path (with sftp.passphrase if the key is encrypted)';

export const sftpSchema = z
  .strictObject({
    host: z.string().max(253, 'must be a host name or IP address (at most 253 characters)').regex(/^[^\s/]+$/, 'must be a host name or IP address'),
    port: int(1, 65535).default(22),
    username: nonEmptyString(),
    password: nonEmptyString().optional(),
    private_key: z
      .string()
      .refine(looksLikePrivateKey, 'must be the text of a private key (-----BEGIN ... PRIVATE KEY-----)')
      .optional(),
    private_key_path: nonEmptyString().optional(),
    passphrase: nonEmptyString().optional(),
    directory: absolutePosixPath('/upload'),
    host_key: z
      .string()
      .refine(isHostKeyPin, "must be a SHA256 fingerprint ('SHA256:<base64>') or a known_hosts line")
      .optional(),
    insecure_skip_host_key_check: z.boolean().default(false),
    ciphers: z.array(nonEmptyString()).min(1, 'must list at least one cipher, or be left out').optional(),
    keepalive_interval_ms: int(0, 3_600_000).default(10_000),
    ready_timeout_ms: int(1, 3_600_000).default(20_000),
    max_connections: int(1, 64).default(4),
    temp_suffix: nonEmptyString()
      .refine((s) => !s.includes('/') && !hasControlChars(s), "must not contain '/' or control characters")
      .default('.partial'),
    publish_mode: z.enum(['rename', 'in_place']).default('rename'),
  })
  .superRefine(
    (sftp, ctx) => {
      const has = (v: unknown) => v !== undefined && v !== '';
      const hasKey = has(sftp.private_key) || has(sftp.private_key_path);
      if (!has(sftp.password) && !hasKey) {
        ctx.addIssue({ code: 'custom', path: ['password'], message: SFTP_AUTH_MESSAGE });
      }
      if (has(sftp.passphrase) && !hasKey) {
        ctx.addIssue({
          code: 'custom',
          path: ['passphrase'],
          message: 'is set but no key is: set sftp.private_key or sftp.private_key_path too',
        });
      }
      if (has(sftp.password) && hasKey) {
        ctx.addIssue({
          code: 'custom',
          path: ['password'],
          message: 'set either a password or a key (private_key / private_key_path), not both: one way to log in per connection, so a refusal says which one failed',
        });
      }
      if (has(sftp.private_key) && has(sftp.private_key_path)) {
        ctx.addIssue({
          code: 'custom',
          path: ['private_key_path'],
          message: 'set either sftp.private_key or sftp.private_key_path, not both',
        });
      }
    },
    RUN_ALWAYS,
  );

export const slackSchema = z
  .strictObject({
    webhook_url: httpUrl().optional(),
    channel: nonEmptyString().optional(),
  });

export const transferSchema = z
  .strictObject({
    concurrency: int(1, 64).default(4),
    /** bytes per SFTP WRITE; unset: the largest the server takes in whole SSH packets (src/sftp/session.ts writeSizes) */
    chunk_size: int(1024, 262_144).optional(),
    requests_in_flight: int(1, 1024).default(64),
    heartbeat_every_ms: int(100, 10_000).default(5000), // the transfer's heartbeat timeout is 20 s
    /** a file whose bytes stop moving for this long is aborted and retried (a download can stall silently) */
    stall_timeout_ms: int(1000, 3_600_000).default(30_000),
  });

export const httpSchema = z
  .strictObject({
    port: int(0, 65535).default(8080),
    host: nonEmptyString().default('127.0.0.1'),
    auth_token: nonEmptyString().optional(),
  });

export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'allow_all', 'cancel_other', 'terminate_other'] as const;

export const scheduleSchema = z
  .strictObject({
    cron: cron.default('0 6 * * *'),
    timezone: timezone.default('UTC'),
    date_offset_days: int(0, 366).default(1),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    catchup_window: duration.default('1d'),
    paused: z.boolean().default(false),
    max_parallel: int(1, 64).default(4),
  });

// ---------------------------------------------------------------------------------------------
// Exports

export const EXPORT_FORMATS = ['CSV', 'JSON', 'AVRO', 'PARQUET'] as const;
export const COMPRESSIONS = ['NONE', 'GZIP', 'SNAPPY', 'DEFLATE', 'ZSTD'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type Compression = (typeof COMPRESSIONS)[number];

/** Which compression BigQuery's EXPORT DATA accepts for each format. */
export const COMPRESSION_BY_FORMAT: Record<ExportFormat, readonly Compression[]> = {
  CSV: ['NONE', 'GZIP'],
  JSON: ['NONE', 'GZIP'],
  AVRO: ['NONE', 'SNAPPY', 'DEFLATE'],
  PARQUET: ['NONE', 'SNAPPY', 'GZIP', 'ZSTD'],
};

export const EXPORT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const EXPORT_NAME_RULE =
  "is not a valid export name: use 1-64 letters, digits, '_' or '-', starting with a letter or digit";

/**
 * `file_name_template` was validated but nothing ever renamed a file by it: it is refused, so no
 * config believes its files are renamed (issue 19 item 7).
 */
export const FILE_NAME_TEMPLATE_REFUSED =
  'is not supported (no file was ever renamed by it): files are named <file_prefix>_<YYYYMMDD>-<12-digit index>.<ext>; ' +
  'set file_prefix for the first part and remove file_name_template';

/** Per-export overrides of the top-level `schedule`. */
export const exportScheduleSchema = z.strictObject({
  cron: cron.optional(),
  timezone: timezone.optional(),
  paused: z.boolean().optional(),
});

export const exportSchema = z
  .strictObject({
    query: z
      .string()
      .max(1_048_576, "must be at most 1,048,576 characters (BigQuery's limit for a query)")
      .refine((q) => q.trim() !== '', 'must not be empty'),
    destination: absolutePosixPath('/upload/products').optional(),
    file_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'")
      .optional(),
    format: upperEnum(EXPORT_FORMATS).default('CSV'),
    compression: upperEnum(COMPRESSIONS).default('NONE'),
    header: z.boolean().default(true),
    field_delimiter: z
      .string()
      .refine((d) => d.length === 1 || d.toLowerCase() === 'tab', "must be one character (or 'tab')")
      .default(','),
    checksums: z.boolean().default(false),
    manifest: z.boolean().default(false),
    done_file: z.boolean().default(false),
    file_name_template: z
      .unknown()
      .superRefine((_t, ctx) => ctx.addIssue({ code: 'custom', message: FILE_NAME_TEMPLATE_REFUSED }))
      .optional(),
    schedule: exportScheduleSchema.optional(),
    enabled: z.boolean().default(true),
    /** the named SFTP connection to deliver to (default: `default`, the top-level `sftp` block) */
    sftp: connectionName.optional(),
    /** encrypt (and sign) every file with OpenPGP while streaming it (src/pgp/config.ts) */
    pgp: pgpDeliverySchema.optional(),
  })
  .superRefine(
    (e, ctx) => {
      const format = e.format as string;
      const compression = e.compression as string;
      if (!(format in COMPRESSION_BY_FORMAT) || !(COMPRESSIONS as readonly string[]).includes(compression)) return;
      const allowed = COMPRESSION_BY_FORMAT[format as ExportFormat];
      if (!allowed.includes(compression as Compression)) {
        ctx.addIssue({
          code: 'custom',
          path: ['compression'],
          message: `${compression} is not available for ${format} exports: use ${allowed.join(', ')}`,
        });
      }
    },
    RUN_ALWAYS,
  );

const exportsSchema = z
  .record(z.string().regex(EXPORT_NAME_PATTERN, EXPORT_NAME_RULE), exportSchema)
  .default({});

// ---------------------------------------------------------------------------------------------
// The whole config

export const connectionsSchema = z.strictObject({
  /** named SFTP servers (partners); the top-level `sftp` block is the one named `default` */
  sftp: z.record(connectionName, sftpSchema).default({}),
});

const configObjectSchema = z.strictObject({
  temporal: temporalSchema.prefault({}),
  encryption: encryptionSchema.prefault({}),
  bigquery: bigquerySchema.prefault({}),
  gcs: gcsSchema,
  sftp: sftpSchema.optional(),
  connections: connectionsSchema.prefault({}),
  slack: slackSchema.prefault({}),
  transfer: transferSchema.prefault({}),
  http: httpSchema.prefault({}),
  schedule: scheduleSchema.prefault({}),
  exports: exportsSchema,
  backups: backupsSchema,
  inboxes: inboxesSchema,
  etl: etlSchema.prefault({}),
  postgres: postgresSchema.prefault({}), ingest: ingestSchema.prefault({}),
  pgp: pgpInboundSchema.optional(),
  metrics: metricsSchema.prefault({}),
});

type ParsedConfig = z.output<typeof configObjectSchema>;
type ParsedExport = z.output<typeof exportSchema>;
type ParsedSftp = z.output<typeof sftpSchema>;

export const DEFAULT_CONNECTION = 'default';

/** Every connection by name: the named ones plus the top-level `sftp` block as `default`. */
function allSftpConnections(cfg: ParsedConfig): Record<string, ParsedSftp> {
  return { ...cfg.connections.sftp, ...(cfg.sftp ? { [DEFAULT_CONNECTION]: cfg.sftp } : {}) };
}

/**
 * Every string-valued `sftp` key anywhere in the config (but the top-level block and the
 * connections themselves) names a connection: exports, and every family's blocks alike.
 */
function connectionReferences(value: unknown, path: (string | number)[], out: { path: (string | number)[]; name: string }[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => connectionReferences(v, [...path, i], out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (path.length === 0 && (k === 'sftp' || k === 'connections')) continue;
      if (k === 'sftp' && typeof v === 'string') out.push({ path: [...path, k], name: v });
      else connectionReferences(v, [...path, k], out);
    }
  }
}

function checkConnections(cfg: ParsedConfig, ctx: z.RefinementCtx): void {
  // runs even when other blocks failed (RUN_ALWAYS), so look at what is there defensively
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (cfg.sftp !== undefined && !isObj(cfg.sftp)) return; // wrong-typed: its own issue says so
  const named = isObj(cfg.connections) && isObj(cfg.connections.sftp) ? cfg.connections.sftp : {};
  if (!isObj(cfg.exports)) return;
  cfg = { ...cfg, connections: { ...cfg.connections, sftp: named } };
  const connections = allSftpConnections(cfg);
  const known = Object.keys(connections);
  const knownText = known.length ? `known: ${known.join(', ')}` : 'no connections are configured';
  if (cfg.sftp && cfg.connections.sftp[DEFAULT_CONNECTION]) {
    ctx.addIssue({
      code: 'custom',
      path: ['connections', 'sftp', DEFAULT_CONNECTION],
      message: 'the top-level sftp block is the connection "default" already: keep one of the two',
    });
  }
  if (known.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['sftp'], message: 'required' });
    return;
  }
  const refs: { path: (string | number)[]; name: string }[] = [];
  connectionReferences(cfg, [], refs);
  for (const ref of refs) {
    if (!connections[ref.name]) {
      ctx.addIssue({ code: 'custom', path: ref.path, message: `unknown connection ${JSON.stringify(ref.name)}; ${knownText}` });
    }
  }
  if (!connections[DEFAULT_CONNECTION]) {
    for (const [name, e] of Object.entries(cfg.exports)) {
      if (isObj(e) && e.sftp === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['exports', name, 'sftp'],
          message: `required: there is no default connection (top-level sftp block), so name one; ${knownText}`,
        });
      }
    }
  }
}

/** Fill in the per-export defaults that depend on the rest of the config. */
function resolveExports(cfg: ParsedConfig) {
  const connections = allSftpConnections(cfg);
  // not named `exports`: compiled to CommonJS that local would shadow the module's exports object
  const resolved: Record<string, ParsedExport & { destination: string; file_prefix: string; sftp: string }> = {};
  for (const [name, e] of Object.entries(cfg.exports)) {
    const sftp = e.sftp ?? DEFAULT_CONNECTION;
    resolved[name] = { ...e, sftp, destination: e.destination ?? connections[sftp].directory, file_prefix: e.file_prefix ?? name };
  }
  // the sftp block is reachable as connections.sftp.default too, but not enumerable: a resolved config
  // written back out (JSON) holds it once, so it loads again with env overrides applied in one place
  const sftp: Record<string, ParsedSftp> = { ...cfg.connections.sftp };
  if (cfg.sftp) Object.defineProperty(sftp, DEFAULT_CONNECTION, { value: cfg.sftp, enumerable: false, writable: true, configurable: true });
  return { ...cfg, connections: { ...cfg.connections, sftp }, exports: resolved };
}

/** Validates a raw (JSON) config and returns the resolved `Config`. */
export const configSchema = configObjectSchema.superRefine(checkConnections, RUN_ALWAYS).superRefine(checkBackupDecryption, RUN_ALWAYS).transform(resolveExports);

/** The validated config with every default filled in. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain (defaults still missing, formats in any case). */
export type ConfigInput = z.input<typeof configSchema>;
export type ExportConfig = Config['exports'][string];
export type SftpConfig = ParsedSftp;
export type GcsConfig = Config['gcs'];
export type TemporalConfig = Config['temporal'];
export type ScheduleConfig = Config['schedule'];

const STRICT_OBJECTS: Record<string, { shape: object }> = {
  '': configObjectSchema,
  temporal: temporalSchema,
  'temporal.tls': temporalTlsSchema,
  encryption: encryptionObjectSchema,
  bigquery: bigquerySchema,
  gcs: gcsSchema,
  sftp: sftpSchema,
  connections: connectionsSchema,
  'connections.sftp.*': sftpSchema,
  slack: slackSchema,
  transfer: transferSchema,
  http: httpSchema,
  schedule: scheduleSchema,
  'exports.*': exportSchema,
  'exports.*.schedule': exportScheduleSchema,
  'backups.*': backupObjectSchema, 'backups.*.destination': backupDestinationSchema, 'backups.*.schedule': backupScheduleSchema,
  'inboxes.*': inboxSchema, 'inboxes.*.api': inboxApiSchema,
  ...ETL_STRICT_OBJECTS,
  ...INGEST_STRICT_OBJECTS,
  ...PGP_STRICT_OBJECTS,
  ...METRICS_STRICT_OBJECTS,
};

/** The keys a strict object of the config accepts (for "did you mean" hints on unknown keys). */
export function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  const p = path.map(String);
  if (p[0] === 'exports' && p.length >= 2) p[1] = '*';
  if (p[0] === 'backups' && p.length >= 2) p[1] = '*';
  if (p[0] === 'inboxes' && p.length >= 2) p[1] = '*';
  if (p[0] === 'etl' && p[1] === 'pipelines' && p.length >= 3) p[2] = '*';
  if (p[0] === 'connections' && p[1] === 'sftp' && p.length >= 3) p[2] = '*';
  if (p[0] === 'ingest' && (p[1] === 'tenants' || p[1] === 'api_tokens') && p.length >= 3) p[2] = '*';
  const obj = STRICT_OBJECTS[p.join('.')];
  return obj ? Object.keys(obj.shape) : undefined;
}
