/**
 * Loads and validates the config.
 *
 * Where it comes from, first match wins:
 *   1. a JSON file named explicitly: `opts.path` (the CLI's `--config`), else `CONFIG_PATH`;
 *   2. `EXPORT_CONFIG`: the whole config as JSON in one env var;
 *   3. the default file `configs/exports.json` (relative to the working directory) if it exists;
 *   4. single env vars: `SFTP_HOST`, `SFTP_PORT`, `SFTP_USERNAME`, `SFTP_PASSWORD`, ... (env.ts).
 * The seed's order (file, EXPORT_CONFIG, env vars) with one refinement: a default file that
 * merely happens to exist never hides an `EXPORT_CONFIG` that was set on purpose.
 *
 * On top of a file or EXPORT_CONFIG, the env vars in `ENV_OVERRIDES` still apply: the secrets
 * (`SFTP_PASSWORD`, `SFTP_PRIVATE_KEY`, `SFTP_PASSPHRASE`, `SLACK_WEBHOOK_URL`,
 * `TEMPORAL_API_KEY`, `BQSFTP_ENCRYPTION_KEYS`), so they can stay out of files, and Temporal's
 * connection settings (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_TASK_QUEUE`,
 * `TEMPORAL_UI_URL`), which belong to the deployment. The other single env vars are used only in
 * the env-var form.
 * Empty env vars count as unset. With `opts.env`, `process.env` is never read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, formatIssues, type ConfigIssue } from './errors';
import { applyEnvOverrides, configFromEnv, envVarFor, readEnv, ENV_FIELDS, type Env } from './env';
import { configErrorMap, toConfigIssues } from './issues';
import { parseJsonText } from './json';
import { configSchema, SFTP_AUTH_MESSAGE, type Config } from './schema';
import { plainSecretIssues, REQUIRE_SECRET_REFS_ENV, resolveSecretRefs } from './secret-refs';

export const DEFAULT_CONFIG_PATH = 'configs/exports.json';

export interface LoadConfigOptions {
  /** A config file; wins over CONFIG_PATH. Relative paths are resolved against `cwd`. */
  path?: string;
  /** The environment to read (defaults to `process.env`); tests pass their own. */
  env?: Env;
  /** Working directory for relative paths and the default file (defaults to `process.cwd()`). */
  cwd?: string;
}

export type ConfigSource =
  | { kind: 'file'; path: string; via: 'option' | 'CONFIG_PATH' | 'default' }
  | { kind: 'EXPORT_CONFIG' }
  | { kind: 'env' };

export interface LoadedConfig {
  config: Config;
  source: ConfigSource;
  /** Env vars applied over the file / EXPORT_CONFIG, or every env var used in the env-var form. */
  envVars: string[];
  /** Human-readable origin, e.g. `file /app/configs/exports.json (SFTP_PASSWORD from the environment)`. */
  description: string;
  /** Config path → the env var a `{"env": …}` reference reads (for `config show`). */
  secretRefs: Map<string, { env: string; set: boolean }>;
}

/** Loads, validates and resolves the config; throws `ConfigError` listing every problem. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  return loadConfigWithSource(opts).config;
}

/** Like `loadConfig`, and also tells where the config came from (for `/health`, `config show`). */
export function loadConfigWithSource(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();

  const explicit = opts.path !== undefined && opts.path.trim() !== ''
    ? { file: opts.path, via: 'option' as const }
    : readEnv(env, 'CONFIG_PATH') !== undefined
      ? { file: readEnv(env, 'CONFIG_PATH')!, via: 'CONFIG_PATH' as const }
      : undefined;

  if (explicit) {
    const file = path.resolve(cwd, explicit.file);
    return fromJson(readConfigFile(file, explicit.via), { kind: 'file', path: file, via: explicit.via }, env);
  }
  const exportConfig = readEnv(env, 'EXPORT_CONFIG');
  if (exportConfig !== undefined) return fromJson(exportConfig, { kind: 'EXPORT_CONFIG' }, env);

  const defaultFile = path.resolve(cwd, DEFAULT_CONFIG_PATH);
  if (fs.existsSync(defaultFile)) {
    return fromJson(readConfigFile(defaultFile, 'default'), { kind: 'file', path: defaultFile, via: 'default' }, env);
  }

  const { raw, used, origins } = configFromEnv(env);
  const description =
    used.length > 0
      ? `environment variables (${used.join(', ')})`
      : `environment variables (none set; no ${DEFAULT_CONFIG_PATH}, no CONFIG_PATH, no EXPORT_CONFIG)`;
  const config = validate(raw, { description, source: { kind: 'env' }, origins });
  return { config, source: { kind: 'env' }, envVars: used, description, secretRefs: new Map() };
}

/**
 * Validates an already parsed config object (e.g. one built in code) and resolves defaults.
 * Throws `ConfigError` (type `ConfigInvalid`) with every problem.
 */
export function validateConfig(raw: unknown, description = 'the given object'): Config {
  return validate(raw, { description, source: undefined, origins: new Map() });
}

function readConfigFile(file: string, via: 'option' | 'CONFIG_PATH' | 'default'): string {
  const named = via === 'CONFIG_PATH' ? ' (from CONFIG_PATH)' : via === 'option' ? ' (from --config)' : '';
  const issuePath = via === 'CONFIG_PATH' ? 'CONFIG_PATH' : 'config';
  let problem: string;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem =
      code === 'ENOENT'
        ? `file not found: ${file}`
        : code === 'EISDIR'
          ? `is a directory, not a file: ${file}`
          : code === 'EACCES' || code === 'EPERM'
            ? `permission denied reading ${file}`
            : `cannot read ${file} (${code ?? 'error'})`;
  }
  throw new ConfigError({
    type: 'ConfigNotFound',
    message:
      `Config file problem${named}: ${problem}.\n` +
      'Check the path, or leave CONFIG_PATH unset to use EXPORT_CONFIG or the SFTP_* / GCS_* environment variables.',
    issues: [{ path: issuePath, message: problem }],
    source: `file ${file}`,
  });
}

function fromJson(text: string, source: ConfigSource, env: Env): LoadedConfig {
  const where = source.kind === 'file' ? `file ${source.path}` : 'the EXPORT_CONFIG environment variable';
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const issuePath = source.kind === 'file' ? source.path : 'EXPORT_CONFIG';
    const issues = [{ path: issuePath, message: parsed.error }];
    throw new ConfigError({
      type: 'ConfigInvalid',
      message: `Invalid config in ${where}:\n${formatIssues(issues)}\n${fixHint(source)}`,
      issues,
      source: where,
    });
  }
  const resolved = resolveSecretRefs(parsed.value, env);
  const overlaid = applyEnvOverrides(resolved.value, env);
  const envVars = overlaid?.used ?? [];
  const description = envVars.length > 0 ? `${where} (${envVars.join(', ')} from the environment)` : where;
  const raw = overlaid?.raw ?? resolved.value;
  const origins = overlaid?.origins ?? new Map<string, string>();
  const require = ['1', 'true', 'yes'].includes((env[REQUIRE_SECRET_REFS_ENV] ?? '').toLowerCase());
  const config = validate(raw, {
    description,
    source,
    origins,
    extraIssues: [...resolved.issues, ...(require ? plainSecretIssues(raw, resolved.refs, origins) : [])],
  });
  return { config, source, envVars, description, secretRefs: resolved.refs };
}

interface ValidationContext {
  description: string;
  source: ConfigSource | undefined;
  /** Config path → env var its value came from. */
  origins: Map<string, string>;
  /** problems found before validation (unset `{"env": …}` references, plain secrets where refs are required) */
  extraIssues?: ConfigIssue[];
}

function validate(raw: unknown, ctx: ValidationContext): Config {
  const result = configSchema.safeParse(raw, { error: configErrorMap });
  const extra = ctx.extraIssues ?? [];
  if (result.success && extra.length === 0) return result.data;
  // a field whose reference is unset was left out: its own issue says why, not "required"
  const schemaIssues = result.success ? [] : toConfigIssues(result.error.issues).filter((i) => !extra.some((e) => e.path === i.path || e.path.startsWith(`${i.path}.`)));
  const issues = [...extra, ...schemaIssues.map((i) => annotate(i, ctx))];
  const n = issues.length;
  throw new ConfigError({
    type: 'ConfigInvalid',
    message:
      `Invalid config from ${ctx.description}: ${n} problem${n === 1 ? '' : 's'}\n` +
      `${formatIssues(issues)}\n${fixHint(ctx.source)}`,
    issues,
    source: ctx.description,
  });
}

/** Says which env var a bad value came from, or which one to set (env-var form). */
function annotate(issue: ConfigIssue, ctx: ValidationContext): ConfigIssue {
  const from = ctx.origins.get(issue.path);
  if (from) return { ...issue, message: `${issue.message} (from ${from})` };
  if (ctx.source?.kind === 'env') {
    if (issue.message === SFTP_AUTH_MESSAGE) {
      return { ...issue, message: `${issue.message} (env: SFTP_PASSWORD, SFTP_PRIVATE_KEY or SFTP_PRIVATE_KEY_PATH)` };
    }
    const variable = envVarFor(issue.path);
    if (variable && issue.message === 'required') return { ...issue, message: `required: set ${variable}` };
  }
  return issue;
}

function fixHint(source: ConfigSource | undefined): string {
  switch (source?.kind) {
    case 'file':
      return `Fix the fields above in ${source.path} and try again.`;
    case 'EXPORT_CONFIG':
      return 'Fix the fields above in the EXPORT_CONFIG JSON and try again.';
    case 'env':
      return (
        'Set the environment variables named above, or give a config file (CONFIG_PATH, --config or ' +
        `${DEFAULT_CONFIG_PATH}) or the whole config as JSON in EXPORT_CONFIG.`
      );
    default:
      return 'Fix the fields above and try again.';
  }
}

/** Every env var name the loader reads (for docs and `--help`). */
export const CONFIG_ENV_VARS: readonly string[] = [
  'CONFIG_PATH',
  'EXPORT_CONFIG',
  ...ENV_FIELDS.flatMap((fl) => fl.vars),
];
