/**
 * Connection settings for the `bq-sftp sftp` commands: command-line flags first, then the `sftp`
 * block of a `--config` file, then the SFTP_* environment variables (empty counts as unset).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseJsonText } from '../config/json';
import { resolveSecretRefs } from '../config/secret-refs';
import { SftpError } from './errors';
import { sftpSchema } from '../config/schema';
import { configErrorMap, toConfigIssues } from '../config/issues';
import type { SftpEndpoint } from './endpoint';
import type { PublishMode } from './session';

export interface SftpFlags {
  host?: string;
  port?: string | number;
  username?: string;
  password?: string;
  directory?: string;
  key?: string;
  passphrase?: string;
  hostKey?: string;
  insecureSkipHostKey?: boolean;
  ciphers?: string;
  config?: string;
  /** a named connection of --config (`connections.sftp.<name>`; `default` = the `sftp` block) */
  connection?: string;
  gcsEndpoint?: string;
  gcsProject?: string;
}

export interface SftpSettings {
  endpoint: SftpEndpoint;
  directory: string;
  tempSuffix: string;
  publishMode: PublishMode;
  gcs: { apiEndpoint?: string; projectId?: string };
}

type Env = Record<string, string | undefined>;

function invalid(message: string): SftpError {
  return new SftpError('SftpConfigInvalid', message);
}

function nonEmpty(v: unknown): string | undefined {
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function readKeyFile(file: string, from: string): string {
  const resolved = path.resolve(file.replace(/^~(?=$|\/)/, os.homedir()));
  let text: string;
  try {
    text = fs.readFileSync(resolved, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw invalid(`Cannot read the private key file ${resolved} (${code}) named by ${from}. Check the path.`);
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text) && !text.startsWith('PuTTY-User-Key-File-')) {
    throw invalid(`${resolved} (named by ${from}) does not hold a private key (expected -----BEGIN ... PRIVATE KEY-----).`);
  }
  return text;
}

interface FileBlocks {
  sftp: Record<string, unknown>;
  gcs: Record<string, unknown>;
}

/** The parsed JSON of a config file; unreadable or malformed files are `SftpConfigInvalid`. */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`Cannot read the config file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}). Check the --config path.`);
  }
  // by line and column only: V8's own message quotes the text, which may hold a password
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw invalid(`The config file ${file} ${parsed.error}.`);
  return parsed.value;
}

function readConfigFile(file: string, connection: string | undefined, env: Env): FileBlocks {
  const resolved = resolveSecretRefs(readJsonFile(file), env);
  const obj = (resolved.value ?? {}) as Record<string, unknown>;
  const block = (from: Record<string, unknown>, name: string, where = name) => {
    const b = from[name];
    if (b === undefined) return {};
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalid(`The "${where}" block of ${file} must be an object.`);
    return b as Record<string, unknown>;
  };
  const named = block(block(obj, 'connections'), 'sftp', 'connections.sftp');
  const names = fileConnectionNames(obj);
  const wanted = connection ?? 'default';
  const sftp = wanted === 'default' && obj.sftp !== undefined ? block(obj, 'sftp') : Object.hasOwn(named, wanted) ? block(named, wanted, `connections.sftp.${wanted}`) : {};
  if (!Object.keys(sftp).length) {
    if (connection === undefined) throw invalid(`The config file ${file} has no "sftp" block${names.length ? `: pick a connection with --connection (${names.join(', ')})` : ''}.`);
    throw invalid(`The config file ${file} has no connection "${connection}"; known: ${names.join(', ') || 'none'}.`);
  }
  const prefix = wanted === 'default' && obj.sftp !== undefined ? 'sftp' : `connections.sftp.${wanted}`;
  const unset = resolved.issues.find((i) => i.path.startsWith(`${prefix}.`));
  if (unset) throw invalid(`${unset.path} in ${file}: ${unset.message}.`);
  return { sftp, gcs: block(obj, 'gcs') };
}

/** The connection names a config file defines (`default` for its `sftp` block). */
function fileConnectionNames(obj: Record<string, unknown>): string[] {
  const named = (obj.connections as { sftp?: unknown } | undefined)?.sftp;
  const names = named && typeof named === 'object' && !Array.isArray(named) ? Object.keys(named) : [];
  return [...new Set([...(obj.sftp !== undefined ? ['default'] : []), ...names])].sort();
}

/** The SFTP connections of a config file, for `sftp check --all`. */
export function configConnectionNames(file: string): string[] {
  return fileConnectionNames((readJsonFile(file) ?? {}) as Record<string, unknown>);
}

function parsePort(v: string | undefined, from: string): number {
  if (v === undefined) return 22;
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1 || Number(v) > 65535) throw invalid(`The port "${v}" (${from}) is not a port number (1-65535).`);
  return Number(v);
}

type Level = 0 | 1 | 2; // the command line, the config file, the environment

/**
 * Flags, then the config file's block, then SFTP_* variables, field by field; the merged block is
 * then validated by the same zod schema as every config (`sftpSchema`), so a typo such as
 * `"publish_mode": "renmae"` is an error naming the field (exit 2) instead of a silent default.
 */
export function resolveSftpSettings(flags: SftpFlags, env: Env = process.env): SftpSettings {
  if (flags.connection !== undefined && !flags.config) throw invalid('--connection names a connection of a config file: pass --config too.');
  const file = flags.config ? readConfigFile(flags.config, flags.connection, env) : { sftp: {}, gcs: {} };
  const blockName = flags.connection ? `connections.sftp.${flags.connection}` : 'sftp';
  const fromFile = (k: string) => nonEmpty(file.sftp[k]);
  const fromEnv = (k: string) => nonEmpty(env[k]);
  const flagName = (k: string) => `--${k.replace(/_/g, '-')}`;
  const label = (level: Level, key: string, envKey?: string) =>
    level === 0 ? flagName(key) : level === 1 ? `${blockName}.${key} in ${flags.config}` : (envKey ?? key);
  const pick = (flag: unknown, fileKey: string, envKey: string): { value?: string; from: string; level?: Level } => {
    const f = nonEmpty(flag);
    if (f !== undefined) return { value: f, from: 'the command line', level: 0 };
    const c = fromFile(fileKey);
    if (c !== undefined) return { value: c, from: label(1, fileKey), level: 1 };
    const e = fromEnv(envKey);
    return { value: e, from: envKey, level: e === undefined ? undefined : 2 };
  };

  const host = pick(flags.host, 'host', 'SFTP_HOST');
  const port = pick(flags.port, 'port', 'SFTP_PORT');
  const username = pick(flags.username, 'username', 'SFTP_USERNAME');
  const password = pick(flags.password, 'password', 'SFTP_PASSWORD');
  const passphrase = pick(flags.passphrase, 'passphrase', 'SFTP_PASSPHRASE');
  const hostKey = pick(flags.hostKey, 'host_key', 'SFTP_HOST_KEY');
  const directory = pick(flags.directory, 'directory', 'SFTP_DIRECTORY');

  let key: { text: string; level: Level; from: string } | undefined;
  if (nonEmpty(flags.key)) key = { text: readKeyFile(flags.key!, '--key'), level: 0, from: '--key' };
  else if (fromFile('private_key')) key = { text: fromFile('private_key')!, level: 1, from: label(1, 'private_key') };
  else if (fromFile('private_key_path')) key = { text: readKeyFile(fromFile('private_key_path')!, label(1, 'private_key_path')), level: 1, from: label(1, 'private_key_path') };
  else if (fromEnv('SFTP_PRIVATE_KEY')) key = { text: fromEnv('SFTP_PRIVATE_KEY')!.replace(/\\n/g, '\n'), level: 2, from: 'SFTP_PRIVATE_KEY' };
  else if (fromEnv('SFTP_PRIVATE_KEY_PATH')) key = { text: readKeyFile(fromEnv('SFTP_PRIVATE_KEY_PATH')!, 'SFTP_PRIVATE_KEY_PATH'), level: 2, from: 'SFTP_PRIVATE_KEY_PATH' };
  // one way to log in: a password and a key from different places → the higher-ranked place wins
  const usePassword = password.value !== undefined && !(key && key.level < password.level!);
  const useKey = key !== undefined && !(password.value !== undefined && password.level! < key.level);

  if (!host.value) throw invalid('No SFTP host: pass --host, or set sftp.host in --config, or SFTP_HOST.');
  if (!username.value) throw invalid('No SFTP username: pass --username, or set sftp.username in --config, or SFTP_USERNAME.');
  if (!usePassword && !useKey) {
    throw invalid('No SFTP credentials: pass --password or --key (with --passphrase), or set them in --config, or SFTP_PASSWORD / SFTP_PRIVATE_KEY_PATH.');
  }
  if (!directory.value) throw invalid('No SFTP folder: pass --directory, or set sftp.directory in --config, or SFTP_DIRECTORY.');
  if (!directory.value.startsWith('/')) throw invalid(`The folder "${directory.value}" (${directory.from}) must be an absolute path on the server, e.g. /upload.`);
  const normalisedDir = path.posix.normalize(directory.value).replace(/(.)\/+$/, '$1');

  const ciphersText = nonEmpty(flags.ciphers);
  // the block as the config would hold it; where each field came from, for the error message
  const sources: Record<string, string> = {};
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file.sftp)) {
    if (k === 'private_key' || k === 'private_key_path' || k === 'password' || k === 'passphrase') continue;
    raw[k] = v;
    sources[k] = label(1, k);
  }
  const put = (k: string, v: unknown, from: string) => {
    raw[k] = v;
    sources[k] = from;
  };
  put('host', host.value, host.level === 0 ? '--host' : host.from);
  if (port.value !== undefined && port.level !== 1) put('port', parsePort(port.value, port.from), port.level === 0 ? '--port' : port.from);
  put('username', username.value, username.level === 0 ? '--username' : username.from);
  if (usePassword) put('password', password.value, password.level === 0 ? '--password' : password.from);
  if (useKey) put('private_key', key!.text, key!.from);
  if (useKey && passphrase.value !== undefined) put('passphrase', passphrase.value, passphrase.level === 0 ? '--passphrase' : passphrase.from);
  put('directory', normalisedDir, directory.level === 0 ? '--directory' : directory.from);
  if (hostKey.value !== undefined) put('host_key', hostKey.value, hostKey.level === 0 ? '--host-key' : hostKey.from);
  else delete raw.host_key;
  if (flags.insecureSkipHostKey === true) put('insecure_skip_host_key_check', true, '--insecure-skip-host-key');
  if (ciphersText) put('ciphers', ciphersText.split(',').map((c) => c.trim()).filter(Boolean), '--ciphers');
  for (const k of Object.keys(raw)) if (raw[k] === '' || raw[k] === null) delete raw[k]; // empty counts as unset

  const parsed = sftpSchema.safeParse(raw, { error: configErrorMap });
  if (!parsed.success) {
    const issues = toConfigIssues(parsed.error.issues.map((i) => ({ ...i, path: ['sftp', ...i.path] })));
    const lines = issues.map((i) => {
      const field = i.path.replace(/^sftp\.?/, '').split(/[.[]/)[0];
      return `${sources[field] ?? (field ? label(1, field) : blockName)}: ${i.message}`;
    });
    throw invalid(`Invalid SFTP settings: ${lines.join('; ')}.`);
  }
  const sftp = parsed.data;

  return {
    endpoint: {
      host: sftp.host,
      port: sftp.port,
      username: sftp.username,
      password: sftp.password,
      privateKey: sftp.private_key,
      passphrase: sftp.passphrase,
      hostKey: sftp.host_key,
      insecureSkipHostKeyCheck: sftp.insecure_skip_host_key_check,
      ciphers: sftp.ciphers,
      readyTimeoutMs: sftp.ready_timeout_ms,
      keepaliveIntervalMs: sftp.keepalive_interval_ms,
    },
    directory: normalisedDir,
    tempSuffix: sftp.temp_suffix,
    publishMode: sftp.publish_mode,
    gcs: {
      apiEndpoint: nonEmpty(flags.gcsEndpoint) ?? nonEmpty(file.gcs.api_endpoint) ?? fromEnv('GCS_API_ENDPOINT'),
      projectId: nonEmpty(flags.gcsProject) ?? nonEmpty(file.gcs.project_id) ?? fromEnv('GCP_PROJECT') ?? fromEnv('GOOGLE_CLOUD_PROJECT'),
    },
  };
}
