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

export function resolveSftpSettings(flags: SftpFlags, env: Env = process.env): SftpSettings {
  if (flags.connection !== undefined && !flags.config) throw invalid('--connection names a connection of a config file: pass --config too.');
  const file = flags.config ? readConfigFile(flags.config, flags.connection, env) : { sftp: {}, gcs: {} };
  const fromFile = (k: string) => nonEmpty(file.sftp[k]);
  const fromEnv = (k: string) => nonEmpty(env[k]);
  const pick = (flag: unknown, fileKey: string, envKey: string): { value?: string; from: string } => {
    const f = nonEmpty(flag);
    if (f !== undefined) return { value: f, from: 'the command line' };
    const c = fromFile(fileKey);
    if (c !== undefined) return { value: c, from: `${flags.connection ? `connections.sftp.${flags.connection}` : 'sftp'}.${fileKey} in ${flags.config}` };
    const e = fromEnv(envKey);
    return { value: e, from: envKey };
  };

  const host = pick(flags.host, 'host', 'SFTP_HOST').value;
  const port = pick(flags.port, 'port', 'SFTP_PORT');
  const username = pick(flags.username, 'username', 'SFTP_USERNAME').value;
  const password = pick(flags.password, 'password', 'SFTP_PASSWORD').value;
  const passphrase = pick(flags.passphrase, 'passphrase', 'SFTP_PASSPHRASE').value;
  const hostKey = pick(flags.hostKey, 'host_key', 'SFTP_HOST_KEY').value;
  const directory = pick(flags.directory, 'directory', 'SFTP_DIRECTORY');

  let privateKey: string | undefined;
  if (nonEmpty(flags.key)) privateKey = readKeyFile(flags.key!, '--key');
  else if (fromFile('private_key')) privateKey = fromFile('private_key');
  else if (fromFile('private_key_path')) privateKey = readKeyFile(fromFile('private_key_path')!, `sftp.private_key_path in ${flags.config}`);
  else if (fromEnv('SFTP_PRIVATE_KEY')) privateKey = fromEnv('SFTP_PRIVATE_KEY')!.replace(/\\n/g, '\n');
  else if (fromEnv('SFTP_PRIVATE_KEY_PATH')) privateKey = readKeyFile(fromEnv('SFTP_PRIVATE_KEY_PATH')!, 'SFTP_PRIVATE_KEY_PATH');

  if (!host) throw invalid('No SFTP host: pass --host, or set sftp.host in --config, or SFTP_HOST.');
  if (!username) throw invalid('No SFTP username: pass --username, or set sftp.username in --config, or SFTP_USERNAME.');
  if (!password && !privateKey) {
    throw invalid('No SFTP credentials: pass --password or --key (with --passphrase), or set them in --config, or SFTP_PASSWORD / SFTP_PRIVATE_KEY_PATH.');
  }
  if (!directory.value) throw invalid('No SFTP folder: pass --directory, or set sftp.directory in --config, or SFTP_DIRECTORY.');
  if (!directory.value.startsWith('/')) throw invalid(`The folder "${directory.value}" (${directory.from}) must be an absolute path on the server, e.g. /upload.`);
  const normalisedDir = path.posix.normalize(directory.value).replace(/(.)\/+$/, '$1');

  const ciphersText = nonEmpty(flags.ciphers);
  const fileCiphers = Array.isArray(file.sftp.ciphers) ? (file.sftp.ciphers as unknown[]).map(String) : undefined;
  const ciphers = ciphersText ? ciphersText.split(',').map((c) => c.trim()).filter(Boolean) : fileCiphers;
  const num = (k: string) => (typeof file.sftp[k] === 'number' ? (file.sftp[k] as number) : undefined);
  const mode = nonEmpty(file.sftp.publish_mode);

  return {
    endpoint: {
      host,
      port: parsePort(port.value, port.from),
      username,
      password,
      privateKey,
      passphrase,
      hostKey,
      insecureSkipHostKeyCheck: flags.insecureSkipHostKey === true || file.sftp.insecure_skip_host_key_check === true,
      ciphers,
      readyTimeoutMs: num('ready_timeout_ms'),
      keepaliveIntervalMs: num('keepalive_interval_ms'),
    },
    directory: normalisedDir,
    tempSuffix: nonEmpty(file.sftp.temp_suffix) ?? '.partial',
    publishMode: mode === 'in_place' ? 'in_place' : 'rename',
    gcs: {
      apiEndpoint: nonEmpty(flags.gcsEndpoint) ?? nonEmpty(file.gcs.api_endpoint) ?? fromEnv('GCS_API_ENDPOINT'),
      projectId: nonEmpty(flags.gcsProject) ?? nonEmpty(file.gcs.project_id) ?? fromEnv('GCP_PROJECT') ?? fromEnv('GOOGLE_CLOUD_PROJECT'),
    },
  };
}
