/**
 * Errors of the config layer. Every one carries a stable `type` (used as the
 * `ApplicationFailure` type when it crosses into Temporal) and the list of problems as
 * `path: message` pairs. No message ever contains a secret value.
 *
 * No Node built-ins here: workflow code may import this module.
 */

export type ConfigErrorType =
  /** The config (file, EXPORT_CONFIG or env vars) failed validation; `issues` lists every problem. */
  | 'ConfigInvalid'
  /** A config file that was asked for explicitly (`--config`, `CONFIG_PATH`) does not exist or cannot be read. */
  | 'ConfigNotFound'
  /** An export name that the config does not define. */
  | 'UnknownExport'
  /** A run date that is not a real calendar date written as YYYY-MM-DD. */
  | 'InvalidDate'
  /** A named SFTP connection that the config does not define. */
  | 'UnknownConnection';

export interface ConfigIssue {
  /** Dotted path into the config, e.g. `sftp.port` or `exports.product_data.format`. */
  path: string;
  message: string;
}

export interface ConfigErrorOptions {
  type: ConfigErrorType;
  message: string;
  issues?: ConfigIssue[];
  /** Where the config came from, e.g. `file /app/configs/exports.json` or `EXPORT_CONFIG`. */
  source?: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly type: ConfigErrorType;
  readonly issues: ConfigIssue[];
  readonly source?: string;
  /** Config problems are permanent: retrying cannot help (activities map this to `nonRetryable`). */
  readonly retryable = false;

  constructor(opts: ConfigErrorOptions) {
    super(opts.message);
    this.type = opts.type;
    this.issues = opts.issues ?? [];
    this.source = opts.source;
  }
}

/** True for a ConfigError, also across module copies (checks `name` and `type`, not the class). */
export function isConfigError(err: unknown): err is ConfigError {
  return (
    err instanceof Error &&
    err.name === 'ConfigError' &&
    typeof (err as Partial<ConfigError>).type === 'string' &&
    Array.isArray((err as Partial<ConfigError>).issues)
  );
}

/** One line per issue: `  - path: message` (the root is shown as `(root)`). */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `  - ${i.path === '' ? '(root)' : i.path}: ${i.message}`).join('\n');
}
