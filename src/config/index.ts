/**
 * The bq-sftp config: schema (the only source of the `Config` type), loader, errors, helpers.
 *
 * Workflow code must not import this barrel (the loader uses `node:fs`); it may import
 * `./schema`, `./date`, `./exports`, `./errors` and `./redact` directly.
 */
export {
  configSchema,
  exportSchema,
  sftpSchema,
  COMPRESSION_BY_FORMAT,
  COMPRESSIONS,
  EXPORT_FORMATS,
  EXPORT_NAME_PATTERN,
  FILE_NAME_TEMPLATE_REFUSED,
  OVERLAP_POLICIES,
  type Compression,
  type Config,
  type ConfigInput,
  type ExportConfig,
  type ExportFormat,
  type GcsConfig,
  type ScheduleConfig,
  type SftpConfig,
  type TemporalConfig,
} from './schema';
export { ConfigError, formatIssues, isConfigError, type ConfigErrorType, type ConfigIssue } from './errors';
export {
  loadConfig,
  loadConfigWithSource,
  validateConfig,
  CONFIG_ENV_VARS,
  DEFAULT_CONFIG_PATH,
  type ConfigSource,
  type LoadConfigOptions,
  type LoadedConfig,
} from './loader';
export { ENV_OVERRIDES, SECRET_ENV_OVERRIDES, TEMPORAL_ENV_OVERRIDES, type Env } from './env';
export { redactConfig, configSecrets, REDACTED, SECRET_FIELDS } from './redact';
export { exportNames, getExport, exportSchedule, type EffectiveSchedule } from './exports';
export { parseRunDate, isRunDate, compactRunDate, yesterday } from './date';
export { resolveSftpPrivateKey } from './private-key';
export { sftpConnection, sftpConnectionNames, DEFAULT_CONNECTION } from './connections';
