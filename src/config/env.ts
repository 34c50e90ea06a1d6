/**
 * Environment variables → config fields.
 *
 * - The single-variable form (`SFTP_HOST`, `GCS_BUCKET`, ...) is a whole config source of its
 *   own: it is used only when there is no config file and no `EXPORT_CONFIG`.
 * - A few variables also apply on top of a file or `EXPORT_CONFIG` ("overrides"): the secrets,
 *   so they can stay out of files, and Temporal's connection settings, which belong to the
 *   deployment (the same names Temporal's own tools read). See `ENV_OVERRIDES`.
 * - An empty string counts as unset (the t3-env rule).
 */

export type Env = Record<string, string | undefined>;

interface EnvField {
  /** First set variable wins (e.g. GCP_PROJECT before GOOGLE_CLOUD_PROJECT). */
  vars: readonly string[];
  /** Config paths the value goes to. */
  paths: readonly (readonly [string, string])[];
  kind?: 'int' | 'pem';
}

const f = (vars: string | string[], paths: [string, string][], kind?: EnvField['kind']): EnvField => ({
  vars: typeof vars === 'string' ? [vars] : vars,
  paths,
  kind,
});

/** Every variable of the single-variable form. */
export const ENV_FIELDS: readonly EnvField[] = [
  f('SFTP_HOST', [['sftp', 'host']]),
  f('SFTP_PORT', [['sftp', 'port']], 'int'),
  f('SFTP_USERNAME', [['sftp', 'username']]),
  f('SFTP_PASSWORD', [['sftp', 'password']]),
  f('SFTP_DIRECTORY', [['sftp', 'directory']]),
  f('SFTP_PRIVATE_KEY', [['sftp', 'private_key']], 'pem'),
  f('SFTP_PRIVATE_KEY_PATH', [['sftp', 'private_key_path']]),
  f('SFTP_PASSPHRASE', [['sftp', 'passphrase']]),
  f('SFTP_HOST_KEY', [['sftp', 'host_key']]),
  f('GCS_BUCKET', [['gcs', 'bucket']]),
  f('GCS_EXPIRATION_DAYS', [['gcs', 'expiration_days']], 'int'),
  f('GCS_API_ENDPOINT', [['gcs', 'api_endpoint']]),
  f(['GCP_PROJECT', 'GOOGLE_CLOUD_PROJECT'], [['bigquery', 'project_id'], ['gcs', 'project_id']]),
  f('BIGQUERY_API_ENDPOINT', [['bigquery', 'api_endpoint']]),
  f('SLACK_WEBHOOK_URL', [['slack', 'webhook_url']]),
  f('TEMPORAL_ADDRESS', [['temporal', 'address']]),
  f('TEMPORAL_NAMESPACE', [['temporal', 'namespace']]),
  f('TEMPORAL_TASK_QUEUE', [['temporal', 'task_queue']]),
  f('TEMPORAL_API_KEY', [['temporal', 'api_key']]),
  f('TEMPORAL_UI_URL', [['temporal', 'ui_url']]),
  f('BQSFTP_ENCRYPTION_KEYS', [['encryption', 'keys']]),
];

/** Secrets: applied over a config file / EXPORT_CONFIG so they never have to be written into one. */
export const SECRET_ENV_OVERRIDES = [
  'SFTP_PASSWORD',
  'SFTP_PRIVATE_KEY',
  'SFTP_PASSPHRASE',
  'SLACK_WEBHOOK_URL',
  'TEMPORAL_API_KEY',
  'BQSFTP_ENCRYPTION_KEYS',
] as const;

/** Deployment settings: where this process finds Temporal, applied over a file / EXPORT_CONFIG too. */
export const TEMPORAL_ENV_OVERRIDES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_URL',
] as const;

export const ENV_OVERRIDES: readonly string[] = [...SECRET_ENV_OVERRIDES, ...TEMPORAL_ENV_OVERRIDES];

/** An env var's value, with empty (or all-blank) strings counting as unset. */
export function readEnv(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

function convert(value: string, kind: EnvField['kind']): unknown {
  if (kind === 'int') return /^\s*-?\d+\s*$/.test(value) ? Number(value) : value; // else the schema says "must be a number"
  if (kind === 'pem' && !value.includes('\n') && value.includes('\\n')) return value.replace(/\\n/g, '\n');
  return value;
}

type Raw = Record<string, unknown>;

function setPath(obj: Raw, [block, key]: readonly [string, string], value: unknown): void {
  const cur = obj[block];
  const target: Raw = cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Raw) : {};
  obj[block] = { ...target, [key]: value };
}

export interface EnvApplication {
  raw: Raw;
  /** Names of the variables that were used. */
  used: string[];
  /** Config path (`sftp.port`) → the variable its value came from, for messages. */
  origins: Map<string, string>;
}

function apply(base: Raw, env: Env, fields: readonly EnvField[]): EnvApplication {
  const raw: Raw = { ...base };
  const used: string[] = [];
  const origins = new Map<string, string>();
  for (const field of fields) {
    const name = field.vars.find((v) => readEnv(env, v) !== undefined);
    if (!name) continue;
    const value = convert(readEnv(env, name)!, field.kind);
    for (const p of field.paths) {
      setPath(raw, p, value);
      origins.set(p.join('.'), name);
    }
    used.push(name);
  }
  return { raw, used, origins };
}

/** The single-variable form: a raw config built from env vars (sftp and gcs always present). */
export function configFromEnv(env: Env): EnvApplication {
  return apply({ sftp: {}, gcs: {} }, env, ENV_FIELDS);
}

/** Applies `ENV_OVERRIDES` over a raw config from a file or EXPORT_CONFIG (left alone if not an object). */
export function applyEnvOverrides(raw: unknown, env: Env): EnvApplication | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  return apply(raw as Raw, env, ENV_FIELDS.filter((fl) => fl.vars.some((v) => ENV_OVERRIDES.includes(v))));
}

/** Config path → the env var that sets it in the single-variable form (for "set SFTP_HOST" hints). */
export function envVarFor(path: string): string | undefined {
  const field = ENV_FIELDS.find((fl) => fl.paths.some((p) => p.join('.') === path));
  return field?.vars[0];
}
