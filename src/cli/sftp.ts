import type * as NodeCrypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type * as NodeReadline from 'node:readline';
import { Readable } from 'node:stream';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { ConnectConfig } from 'ssh2';
import type * as Ssh2Module from 'ssh2';
import type * as GcsModule from '../gcs/client';
import type { RemoteEntry, SftpSession } from '../sftp';
import type * as SftpConnectModule from '../sftp/connect';
import type { SftpFlags, SftpSettings } from '../sftp/settings';
import type * as SftpSettingsModule from '../sftp/settings';
import type { HostKeyInfo } from '../sftp/host-key';
import type * as HostKeyModule from '../sftp/host-key';
import type { SftpEndpoint } from '../sftp/endpoint';
import type * as EndpointModule from '../sftp/endpoint';
import { SftpError, isSftpError, toSftpError } from '../sftp/errors';
import { assertSafeName, resolveInside } from '../sftp/paths';
import { createProgressBar } from './progress';
import {
  EXIT_REFUSED,
  fail,
  formatBytes,
  guarded,
  oneLine,
  printJson,
  printLine,
  processIo,
  reportFailure,
  type CliIo,
} from './output';

// ssh2, Cloud Storage and the settings loader (zod) when a command runs, not to print the help
// (nor node:crypto, node:readline: ~20 ms of a start).
/* eslint-disable @typescript-eslint/no-require-imports */
const nodeCrypto = () => require('node:crypto') as typeof NodeCrypto;
const nodeReadline = () => require('node:readline') as typeof NodeReadline;
const hostKeys = () => require('../sftp/host-key') as typeof HostKeyModule;
const endpoints = () => require('../sftp/endpoint') as typeof EndpointModule;
const ssh2 = () => require('ssh2') as typeof Ssh2Module;
const gcs = () => require('../gcs/client') as typeof GcsModule;
const sftpConnect = () => require('../sftp/connect') as typeof SftpConnectModule;
const sftpSettings = () => require('../sftp/settings') as typeof SftpSettingsModule;
/* eslint-enable @typescript-eslint/no-require-imports */

interface CommonOpts extends SftpFlags {
  json?: boolean;
}

function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'SFTP server host name or IP ($SFTP_HOST)')
    .option('--port <port>', 'SFTP server port ($SFTP_PORT; default 22)')
    .option('--username <user>', 'login name ($SFTP_USERNAME)')
    .option('--password <password>', 'password ($SFTP_PASSWORD; prefer the variable, arguments are visible to other users)')
    .option('--key <path>', 'private key file, for key authentication ($SFTP_PRIVATE_KEY_PATH)')
    .option('--passphrase <passphrase>', "the private key's passphrase ($SFTP_PASSPHRASE)")
    .option('--directory <dir>', 'the folder to work in; nothing outside it is ever deleted ($SFTP_DIRECTORY)')
    .option('--host-key <pin>', 'the pinned host key: SHA256:… fingerprint or a known_hosts line ($SFTP_HOST_KEY); `check` prints it')
    .option('--insecure-skip-host-key', 'connect without checking the host key (never in production)')
    .option('--ciphers <list>', 'comma-separated ciphers in order of preference, e.g. aes128-gcm@openssh.com')
    .option('-c, --config <path>', 'take the settings above from the "sftp" block of this config file (flags still win)')
    .option('--connection <name>', 'use the named connection of --config (connections.sftp.<name>; "default" = the sftp block)');
}

function settingsOf(opts: CommonOpts): SftpSettings {
  return sftpSettings().resolveSftpSettings(opts);
}

async function withConnection<T>(settings: SftpSettings, fn: (s: SftpSession) => Promise<T>, opts: { allowUnpinned?: boolean } = {}): Promise<T> {
  const ep = opts.allowUnpinned && !settings.endpoint.hostKey ? { ...settings.endpoint, insecureSkipHostKeyCheck: true } : settings.endpoint;
  const session = await sftpConnect().connectSftp(ep);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

function intArg(name: string, min: number) {
  return (v: string) => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return Number(v);
  };
}

function entryJson(e: RemoteEntry) {
  return { name: e.name, type: e.type, size: e.size, mtime: e.mtime.toISOString(), mode: `0${e.mode.toString(8)}` };
}

function modeString(e: RemoteEntry): string {
  const kind = { dir: 'd', link: 'l', file: '-', other: '?' }[e.type];
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (e.mode & (1 << (8 - i)) ? c : '-'));
  return kind + bits.join('');
}

function shortTime(d: Date): string {
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

/** Asks on the terminal; anything but y/yes is a no. */
async function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stderr.write(`${question} [y/N] `);
  const rl = nodeReadline().createInterface({ input: io.stdin ?? process.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

function requireConfirmation(io: CliIo, force: boolean | undefined, what: string): void {
  if (force || io.isTTY) return;
  fail(`refusing to ${what} without confirmation: there is no terminal to ask on; pass -f to do it without asking`, EXIT_REFUSED);
}

// ---------------------------------------------------------------------------------------------

type LoginReport = Awaited<ReturnType<typeof checkReport>>;
/** A login report, or (unpinned host) only what the handshake showed: no folder, extensions or rename. */
type CheckReport = Omit<LoginReport, 'directory' | 'extensions' | 'atomic_rename'> & Partial<Pick<LoginReport, 'directory' | 'extensions' | 'atomic_rename'>>;

async function checkCommand(io: CliIo, opts: CommonOpts & { all?: boolean }): Promise<void> {
  if (opts.all) return checkAllCommand(io, opts);
  const settings = settingsOf(opts);
  const report = await checkOrDiscover(settings);
  if (opts.json) printJson(io, report);
  else printCheck(io, report);
  if (!report.ok) fail(report.logged_in ? (report.directory?.problem ?? `the folder ${settings.directory} is not usable`) : notPinnedReason(report));
}

function notPinnedReason(report: CheckReport): string {
  return `the host key of ${report.server} is not pinned: its key ${report.host_key.fingerprint} is printed above; nothing was sent and no login was attempted`;
}

/**
 * Pinned (or --insecure-skip-host-key): log in and check the folder. Unpinned: only fetch the
 * host key from the handshake and disconnect before authenticating, like ssh-keyscan — a
 * password or key is never offered to a server that has not been identified.
 */
async function checkOrDiscover(settings: SftpSettings): Promise<CheckReport> {
  if (settings.endpoint.hostKey || settings.endpoint.insecureSkipHostKeyCheck) return checkReport(settings);
  const key = await fetchHostKey(settings.endpoint);
  return {
    ok: false,
    logged_in: false,
    server: endpoints().serverLabel(settings.endpoint),
    username: settings.endpoint.username,
    auth: 'none',
    server_software: key.banner ?? null,
    host_key: { type: key.hostKey.type, fingerprint: key.hostKey.fingerprint, known_hosts_line: key.hostKey.knownHostsLine },
    host_key_pinned: false,
  };
}

/** The server's host key from the key exchange; the connection ends before any authentication. */
export async function fetchHostKey(ep: SftpEndpoint): Promise<{ hostKey: HostKeyInfo; banner?: string }> {
  const client = new (ssh2().Client)();
  let seen: Buffer | undefined;
  let banner: string | undefined;
  const config: ConnectConfig = {
    host: ep.host,
    port: ep.port,
    // no password or key: nothing to send even if the server got that far (ssh2 wants a user
    // name to start; it is only ever sent in an authentication request, which never comes)
    username: ep.username || 'bq-sftp',
    readyTimeout: ep.readyTimeoutMs ?? 20_000,
    ...(ep.ciphers?.length ? { algorithms: { cipher: ep.ciphers as NonNullable<ConnectConfig['algorithms']>['cipher'] } } : {}),
    hostVerifier: (key: Buffer) => {
      seen = Buffer.from(key);
      banner = (client as unknown as { _remoteVer?: string })._remoteVer;
      return false; // refuse the server: the handshake stops here, before authentication
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => reject(new Error('the server accepted a connection without a verified host key')));
      client.once('error', (err) => (seen ? resolve() : reject(err)));
      client.once('close', () => (seen ? resolve() : reject(new Error('Connection lost before the SSH handshake completed'))));
      client.connect(config);
    });
  } catch (err) {
    throw toSftpError(err, { server: endpoints().serverLabel(ep), username: ep.username, op: 'connect', secrets: [] });
  } finally {
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    client.destroy();
  }
  return { hostKey: hostKeys().describeHostKey(seen!, ep.host, ep.port), banner };
}

/** `check --all`: every connection of --config, each host key printed; exit 1 if any fails. */
async function checkAllCommand(io: CliIo, opts: CommonOpts): Promise<void> {
  if (!opts.config) fail('--all checks the connections of a config file: pass --config too', EXIT_REFUSED);
  if (opts.connection) fail('--all and --connection exclude each other: drop one', EXIT_REFUSED);
  const names = sftpSettings().configConnectionNames(opts.config!);
  if (names.length === 0) fail(`the config file ${opts.config} defines no SFTP connection`, EXIT_REFUSED);
  const results: { connection: string; ok: boolean; report?: CheckReport; error?: string }[] = [];
  for (const connection of names) {
    try {
      const report = await checkOrDiscover(settingsOf({ ...opts, connection }));
      results.push({ connection, ok: report.ok, report });
    } catch (err) {
      results.push({ connection, ok: false, error: oneLine((err as Error).message) });
    }
  }
  if (opts.json) printJson(io, { ok: results.every((r) => r.ok), connections: results });
  else {
    for (const r of results) {
      printLine(io, `== ${r.connection}: ${r.ok ? 'OK' : 'FAILED'}`);
      if (r.report) printCheck(io, r.report);
      if (r.report && !r.report.logged_in) printLine(io, `Error:       ${notPinnedReason(r.report)}`);
      else printLine(io, `Error:       ${r.error}`);
    }
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.connection);
  if (failed.length) fail(`${failed.length} of ${results.length} connections failed: ${failed.join(', ')}`);
}

function printCheck(io: CliIo, report: CheckReport): void {
  const pinned = report.host_key_pinned;
  if (report.logged_in) printLine(io, `Connected to ${report.server} as ${report.username} (${report.auth})${report.server_software ? `, server ${report.server_software}` : ''}`);
  else printLine(io, `Host key of ${report.server}${report.server_software ? ` (server ${report.server_software})` : ''}; not logged in: nothing was sent`);
  printLine(io, `Host key:    ${report.host_key.type} ${report.host_key.fingerprint}${pinned ? ' (matches the pinned key)' : ' (NOT pinned)'}`);
  printLine(io, `known_hosts: ${report.host_key.known_hosts_line}`);
  if (!pinned) {
    printLine(io, `Compare the fingerprint with the one the server's administrator gives you, then pin it with --host-key ${report.host_key.fingerprint} or "host_key": "${report.host_key.fingerprint}" in the connection's block (SFTP_HOST_KEY)${report.logged_in ? '' : ' and run check again to log in and test the folder'}.`);
  }
  if (!report.logged_in || !report.directory) return;
  printLine(io, `Folder:      ${report.directory.path} ${report.ok ? 'exists and is writable' : `— ${report.directory.problem}`}`);
  printLine(io, `Atomic rename (posix-rename@openssh.com): ${report.atomic_rename ? 'yes' : 'no (remove + rename is used)'}`);
}

async function checkReport(settings: SftpSettings) {
  const pinned = Boolean(settings.endpoint.hostKey);
  const dir = settings.directory;
  return withConnection(
    settings,
    async (s) => {
      let exists = false;
      let writable = false;
      let problem: string | undefined;
      try {
        const st = await s.stat(dir);
        exists = st.type === 'dir';
        if (!exists) problem = `${dir} is a ${st.type}, not a folder`;
      } catch (err) {
        if (!isSftpError(err, 'SftpNoSuchFile')) throw err;
        problem = `the folder ${dir} does not exist`;
      }
      if (exists) {
        const probe = `.bq-sftp-check-${nodeCrypto().randomBytes(4).toString('hex')}`;
        try {
          await s.publishStream(Readable.from([Buffer.from('bq-sftp check\n')]), dir, probe, { mode: 'in_place' });
          await s.remove(`${dir}/${probe}`);
          writable = true;
        } catch (err) {
          problem = `cannot write to ${dir}: ${(err as Error).message}`;
        }
      }
      return {
        ok: exists && writable,
        logged_in: true,
        server: s.server,
        username: s.username,
        auth: endpoints().authKind(settings.endpoint),
        server_software: s.serverBanner ?? null,
        host_key: { type: s.hostKey.type, fingerprint: s.hostKey.fingerprint, known_hosts_line: s.hostKey.knownHostsLine },
        host_key_pinned: pinned,
        directory: { path: dir, exists, writable, ...(problem ? { problem } : {}) },
        extensions: Object.keys(s.serverExtensions).sort(),
        atomic_rename: s.hasPosixRename,
      };
    },
    { allowUnpinned: true },
  );
}

async function lsCommand(io: CliIo, target: string | undefined, opts: CommonOpts & { long?: boolean }): Promise<void> {
  const settings = settingsOf(opts);
  const where = path.posix.resolve(settings.directory, target ?? '.');
  const entries = await withConnection(settings, async (s) => {
    const st = await s.stat(where);
    return st.type === 'dir' ? s.list(where) : [{ name: path.posix.basename(where), ...st }];
  });
  if (opts.json) return printJson(io, entries.map(entryJson));
  if (!opts.long) {
    for (const e of entries) printLine(io, e.type === 'dir' ? `${e.name}/` : e.name);
    return;
  }
  const width = Math.max(1, ...entries.map((e) => String(e.size).length));
  for (const e of entries) printLine(io, `${modeString(e)}  ${String(e.size).padStart(width)}  ${shortTime(e.mtime)}  ${e.name}${e.type === 'dir' ? '/' : ''}`);
  printLine(io, `${entries.length} entries, ${formatBytes(entries.filter((e) => e.type === 'file').reduce((n, e) => n + e.size, 0))} in files`);
}

interface TreeNode {
  name: string;
  type: RemoteEntry['type'];
  size: number;
  mtime: string;
  children?: TreeNode[];
  /** deeper levels were not listed (--depth) */
  truncated?: boolean;
}

async function buildTree(s: SftpSession, dir: string, depth: number): Promise<TreeNode[]> {
  const entries = await s.list(dir);
  const nodes: TreeNode[] = [];
  for (const e of entries) {
    const node: TreeNode = { name: e.name, type: e.type, size: e.size, mtime: e.mtime.toISOString() };
    if (e.type === 'dir') {
      if (depth > 1) node.children = await buildTree(s, path.posix.join(dir, e.name), depth - 1);
      else node.truncated = true;
    }
    nodes.push(node);
  }
  return nodes;
}

function renderTree(io: CliIo, nodes: TreeNode[], prefix: string, counts: { dirs: number; files: number; bytes: number }): void {
  nodes.forEach((n, i) => {
    const last = i === nodes.length - 1;
    const label = n.type === 'dir' ? `${n.name}/${n.truncated ? ' …' : ''}` : `${n.name} (${formatBytes(n.size)})`;
    printLine(io, `${prefix}${last ? '└── ' : '├── '}${label}`);
    if (n.type === 'dir') counts.dirs++;
    else {
      counts.files++;
      counts.bytes += n.size;
    }
    if (n.children) renderTree(io, n.children, `${prefix}${last ? '    ' : '│   '}`, counts);
  });
}

async function treeCommand(io: CliIo, target: string | undefined, opts: CommonOpts & { depth: number }): Promise<void> {
  const settings = settingsOf(opts);
  const root = path.posix.resolve(settings.directory, target ?? '.');
  const nodes = await withConnection(settings, (s) => buildTree(s, root, opts.depth));
  if (opts.json) return printJson(io, { path: root, depth: opts.depth, children: nodes });
  printLine(io, root);
  const counts = { dirs: 0, files: 0, bytes: 0 };
  renderTree(io, nodes, '', counts);
  printLine(io, `\n${counts.dirs} folders, ${counts.files} files, ${formatBytes(counts.bytes)}`);
}

interface UploadSource {
  label: string;
  baseName: string;
  size?: number;
  md5?: string;
  open(): Readable;
}

async function gcsSource(uri: string, settings: SftpSettings): Promise<UploadSource> {
  const { createStorage, parseGcsUri } = gcs();
  const { bucket, prefix } = parseGcsUri(uri);
  if (!prefix || prefix.endsWith('/')) fail(`${uri} names a folder, not an object: give the full object name`, EXIT_REFUSED);
  const storage = createStorage({ apiEndpoint: settings.gcs.apiEndpoint, projectId: settings.gcs.projectId });
  const file = storage.bucket(bucket).file(prefix);
  let meta: { size?: string | number; md5Hash?: string };
  try {
    [meta] = await file.getMetadata();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 404) fail(`${uri} does not exist`);
    throw new Error(`cannot read ${uri}: ${(err as Error).message}`);
  }
  return {
    label: uri,
    baseName: path.posix.basename(prefix),
    size: meta.size === undefined ? undefined : Number(meta.size),
    md5: meta.md5Hash ? Buffer.from(meta.md5Hash, 'base64').toString('hex') : undefined,
    open: () => file.createReadStream({ validation: false }),
  };
}

function localSource(file: string): UploadSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    fail(`the local file ${file} does not exist`);
  }
  if (!st.isFile()) fail(`${file} is not a file`);
  return { label: file, baseName: path.basename(file), size: st.size, open: () => fs.createReadStream(file, { highWaterMark: 256 * 1024 }) };
}

async function uploadCommand(io: CliIo, opts: CommonOpts & { gcsUri?: string; local?: string; remoteFile?: string; inPlace?: boolean }): Promise<void> {
  if (Boolean(opts.gcsUri) === Boolean(opts.local)) fail('give exactly one source: --gcs-uri gs://bucket/object or --local <file>', EXIT_REFUSED);
  const settings = settingsOf(opts);
  const source = opts.gcsUri ? await gcsSource(opts.gcsUri, settings) : localSource(opts.local!);
  const target = resolveInside(settings.directory, opts.remoteFile ?? source.baseName);
  const dir = path.posix.dirname(target);
  const name = path.posix.basename(target);
  assertSafeName(name);

  const abort = new AbortController();
  const onSignal = () => abort.abort(new SftpError('SftpAborted', 'interrupted: the upload was stopped and its temp file removed'));
  process.once('SIGINT', onSignal);
  const bar = createProgressBar({ label: name, total: source.size, stream: io.stderr, isTTY: io.isTTY });
  const started = Date.now();
  try {
    const result = await withConnection(settings, async (s) => {
      await s.mkdirp(dir);
      return s.publishStream(source.open(), dir, name, {
        tempSuffix: settings.tempSuffix,
        mode: opts.inPlace ? 'in_place' : settings.publishMode,
        signal: abort.signal,
        hash: ['md5'],
        onProgress: (n) => bar.update(n),
        verify: ({ bytes, hashes }) => {
          if (source.size !== undefined && bytes !== source.size) throw new Error(`wrote ${bytes} bytes but ${source.label} has ${source.size}; nothing was published`);
          if (source.md5 && hashes.md5 !== source.md5) throw new Error(`the md5 of the bytes written (${hashes.md5}) differs from ${source.label} (${source.md5}); nothing was published`);
        },
      });
    });
    bar.done();
    const seconds = (Date.now() - started) / 1000;
    printLine(io, `Uploaded ${source.label} → ${result.remotePath} (${formatBytes(result.bytes)}, md5 ${result.hashes.md5}, ${seconds.toFixed(1)} s, ${formatBytes(result.bytes / Math.max(seconds, 1e-3))}/s)`);
  } finally {
    process.off('SIGINT', onSignal);
  }
}

async function downloadCommand(io: CliIo, remote: string, local: string | undefined, opts: CommonOpts): Promise<void> {
  const settings = settingsOf(opts);
  const from = path.posix.resolve(settings.directory, remote);
  let to = local ?? path.posix.basename(from);
  if (fs.existsSync(to) && fs.statSync(to).isDirectory()) to = path.join(to, path.posix.basename(from));
  const bar = createProgressBar({ label: path.posix.basename(from), stream: io.stderr, isTTY: io.isTTY });
  const bytes = await withConnection(settings, (s) => s.download(from, to, { onProgress: (n) => bar.update(n) }));
  bar.done();
  printLine(io, `Downloaded ${from} → ${to} (${formatBytes(bytes)})`);
}

async function rmCommand(io: CliIo, target: string, opts: CommonOpts & { recursive?: boolean; force?: boolean }): Promise<void> {
  const settings = settingsOf(opts);
  const victim = resolveInside(settings.directory, target);
  requireConfirmation(io, opts.force, `delete ${victim}`);
  await withConnection(settings, async (s) => {
    let type: RemoteEntry['type'];
    try {
      // lstat: a link is deleted itself, never followed to a folder that may lie outside --directory
      type = (await s.lstat(victim)).type;
    } catch (err) {
      if (opts.force && isSftpError(err, 'SftpNoSuchFile')) return;
      throw err;
    }
    if (type === 'dir' && !opts.recursive) fail(`${victim} is a folder: pass -r to delete it and everything in it`, EXIT_REFUSED);
    const question = type === 'dir' ? `Delete the folder ${victim} and everything in it?` : `Delete ${victim}?`;
    if (!opts.force && !(await confirm(io, question))) fail('nothing deleted: not confirmed');
    if (type === 'dir') await s.removeRecursive(victim);
    else await s.remove(victim);
    printLine(io, `Deleted ${victim}`);
  });
}

async function clearCommand(io: CliIo, opts: CommonOpts & { force?: boolean }): Promise<void> {
  const settings = settingsOf(opts);
  const dir = settings.directory;
  if (dir === '/') fail("refusing to clear the server's root folder: set --directory to the folder to empty", EXIT_REFUSED);
  requireConfirmation(io, opts.force, `empty ${dir}`);
  await withConnection(settings, async (s) => {
    const entries = await s.list(dir);
    if (!entries.length) {
      printLine(io, `${dir} is already empty`);
      return;
    }
    if (!opts.force && !(await confirm(io, `Delete all ${entries.length} entries in ${dir}?`))) fail('nothing deleted: not confirmed');
    for (const e of entries) {
      const p = resolveInside(dir, e.name);
      if (e.type === 'dir') await s.removeRecursive(p);
      else await s.remove(p);
    }
    printLine(io, `Deleted ${entries.length} entries from ${dir}`);
  });
}

// ---------------------------------------------------------------------------------------------

const HELP_AFTER = `
Connection settings come from the flags, else the "sftp" block of --config, else the
SFTP_HOST, SFTP_PORT, SFTP_USERNAME, SFTP_PASSWORD, SFTP_PRIVATE_KEY_PATH, SFTP_PASSPHRASE,
SFTP_DIRECTORY and SFTP_HOST_KEY environment variables. The host key must be pinned
(--host-key) for every command but \`check\`, which prints it.

Examples:
  $ bq-sftp sftp check --host sftp.example.com --username user --directory /uploads
  $ bq-sftp sftp ls -l --config configs/exports.json
  $ bq-sftp sftp tree --depth 3 --config configs/exports.json
  $ bq-sftp sftp upload --gcs-uri gs://bucket/path/file.csv.gz --remote-file file.csv.gz -c configs/exports.json
  $ bq-sftp sftp download file.csv.gz ./file.csv.gz -c configs/exports.json
  $ bq-sftp sftp rm old_data -rf -c configs/exports.json
  $ bq-sftp sftp clear -f -c configs/exports.json

Exit status: 0 on success, 1 on failure, 2 when refused (missing or invalid settings, a path
outside --directory, no terminal to confirm on without -f); the reason is one line on stderr.`;

/** `bq-sftp sftp …`: check, ls, tree, upload, download, rm, clear. */
export function registerSftpCommands(program: Command, io: CliIo = processIo()): void {
  const sftp = program
    .command('sftp')
    .description('SFTP toolkit: check a server, list, upload (from GCS or disk), download and delete files')
    .addHelpText('after', HELP_AFTER)
    // usage errors too are one line: `bq-sftp: <reason>`
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(`bq-sftp: ${oneLine(str.replace(/^error: /, ''))} (see --help)\n`) });

  addConnectionOptions(sftp.command('check'))
    .description("connect, check that --directory exists and is writable, and print the server's host key to pin")
    .option('--all', 'check every connection of --config (exit 1 if any fails)')
    .option('--json', 'print the result as JSON')
    .action(guarded(io, (opts: CommonOpts) => checkCommand(io, opts)));

  addConnectionOptions(sftp.command('ls').argument('[path]', 'folder or file, relative to --directory or absolute'))
    .description('list a folder (one listing request, no per-file stat)')
    .option('-l, --long', 'type, permissions, size, modification time')
    .option('--json', 'print the entries as JSON')
    .action(guarded(io, (p: string | undefined, opts: CommonOpts & { long?: boolean }) => lsCommand(io, p, opts)));

  addConnectionOptions(sftp.command('tree').argument('[path]', 'folder, relative to --directory or absolute'))
    .description('show a folder tree with file sizes')
    .option('--depth <n>', 'levels to descend', intArg('--depth', 1), 3)
    .option('--json', 'print the tree as JSON')
    .action(guarded(io, (p: string | undefined, opts: CommonOpts & { depth: number }) => treeCommand(io, p, opts)));

  addConnectionOptions(sftp.command('upload'))
    .description('stream a GCS object or a local file into --directory (temp name, then an atomic rename), with a progress bar')
    .option('--gcs-uri <uri>', 'gs://bucket/path/object to stream (no temp file on disk)')
    .option('--local <file>', 'a local file to upload')
    .option('--remote-file <name>', 'name in --directory (default: the source base name)')
    .option('--in-place', 'write the final name directly, for servers that cannot rename')
    .option('--gcs-endpoint <url>', 'Cloud Storage API endpoint, e.g. an emulator ($GCS_API_ENDPOINT or gcs.api_endpoint of --config)')
    .option('--gcs-project <id>', 'Google Cloud project ($GCP_PROJECT or gcs.project_id of --config)')
    .action(guarded(io, (opts: CommonOpts & { gcsUri?: string; local?: string; remoteFile?: string; inPlace?: boolean }) => uploadCommand(io, opts)));

  addConnectionOptions(sftp.command('download').argument('<remote>', 'file, relative to --directory or absolute').argument('[local]', 'local file or folder (default: the base name, here)'))
    .description('download a file (parallel reads; written to <local>.partial, then renamed)')
    .action(guarded(io, (remote: string, local: string | undefined, opts: CommonOpts) => downloadCommand(io, remote, local, opts)));

  addConnectionOptions(sftp.command('rm').argument('<path>', 'file or folder inside --directory (relative or absolute)'))
    .description('delete a file, or a folder with -r; asks first on a terminal; never outside --directory')
    .option('-r, --recursive', 'delete a folder and everything in it')
    .option('-f, --force', 'do not ask; a missing path is not an error')
    .action(guarded(io, (p: string, opts: CommonOpts & { recursive?: boolean; force?: boolean }) => rmCommand(io, p, opts)));

  addConnectionOptions(sftp.command('clear'))
    .description('delete everything inside --directory (the folder itself stays); asks first on a terminal')
    .option('-f, --force', 'do not ask')
    .action(guarded(io, (opts: CommonOpts & { force?: boolean }) => clearCommand(io, opts)));
}

/** Runs `bq-sftp sftp <argv…>` in this process; returns the exit code. */
export async function runSftpCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const program = new Command('bq-sftp')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  registerSftpCommands(program, io);
  try {
    await program.parseAsync(['sftp', ...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return reportFailure(io, err);
  }
}
