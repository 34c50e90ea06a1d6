/**
 * R4: bad input. Malformed configs (through `loadConfig` and through the real `bq-sftp`
 * binary), malformed CLI requests, malformed HTTP requests against a real server, and unsafe
 * object names. Every case must get a clear answer that names the field, with the documented
 * exit code or HTTP status, and nothing may crash; unsafe object names are refused, all of them.
 *
 * CLI requests run with TEMPORAL_ADDRESS pointing at a closed port: bad input must be refused
 * before anything talks to Temporal. The summary line (and `# FIGURES`) is printed at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Storage } from '@google-cloud/storage';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivityDeps } from '../../src/activities/deps';
import { createTransferFiles } from '../../src/export/transfer-files';
import { clientFor } from '../../src/cli/config-option';
import { isConfigError, loadConfig, type Config } from '../../src/config';
import { createApi } from '../../src/http/server';
import { assertSafeName } from '../../src/sftp/paths';
import { isSftpError } from '../../src/sftp';
import { repoRoot } from '../../src/stack/layout';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, storage } from '../helpers/export';
import { stack } from '../helpers/stack';
import { reportFigures } from './helpers/figures';

const info = stack();
const bin = path.join(repoRoot, 'bin/bq-sftp.js');
/** The documented exit code for bad input: an invalid config, argument or option (see `bq-sftp --help`). */
const EXIT_BAD_INPUT = 2;

type Group = 'config' | 'cli' | 'http' | 'object names' | 'transferFiles';
const tally: Record<Group, { total: number; clear: number; crashes: number }> = {
  config: { total: 0, clear: 0, crashes: 0 },
  cli: { total: 0, clear: 0, crashes: 0 },
  http: { total: 0, clear: 0, crashes: 0 },
  'object names': { total: 0, clear: 0, crashes: 0 },
  transferFiles: { total: 0, clear: 0, crashes: 0 },
};

/** One case: counted as clear only when every assertion in `fn` passed. */
function badCase(group: Group, name: string, fn: () => Promise<void> | void): void {
  tally[group].total++;
  test(name, async () => {
    await fn();
    tally[group].clear++;
  });
}

/** `JSON.stringify`, shortened for test names and messages. */
function show(v: unknown, max = 40): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

after(() => {
  const t = tally;
  const crashes = Object.values(t).reduce((n, g) => n + g.crashes, 0);
  const clear = Object.values(t).reduce((n, g) => n + g.clear, 0);
  const total = Object.values(t).reduce((n, g) => n + g.total, 0);
  const line =
    `R4 bad input: config ${t.config.clear}/${t.config.total} clear, cli ${t.cli.clear}/${t.cli.total} clear, ` +
    `http ${t.http.clear}/${t.http.total} clear, object names ${t['object names'].clear}/${t['object names'].total} refused, ` +
    `transferFiles ${t.transferFiles.clear}/${t.transferFiles.total} listings refused; ` +
    `total ${clear}/${total}; ${crashes} crash${crashes === 1 ? '' : 'es'}`;
  process.stdout.write(`# ${line}\n`);
  reportFigures('R4 bad input', {
    config: `${t.config.clear}/${t.config.total}`,
    cli: `${t.cli.clear}/${t.cli.total}`,
    http: `${t.http.clear}/${t.http.total}`,
    object_names: `${t['object names'].clear}/${t['object names'].total}`,
    transfer_listings: `${t.transferFiles.clear}/${t.transferFiles.total}`,
    total: `${clear}/${total}`,
    crashes,
  });
});

// ---------------------------------------------------------------------------------------------
// Running the real binary

interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without any config env var of the caller; with `deadTemporal`, Temporal on a closed port. */
function cliEnv(deadTemporal: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(SFTP_|GCS_|GCP_|TEMPORAL_|SLACK_|BIGQUERY_|GOOGLE_CLOUD_PROJECT$|CONFIG_PATH$|EXPORT_CONFIG$)/.test(k)) env[k] = v;
  }
  return { ...env, BQSFTP_LOG_LEVEL: 'WARN', METADATA_SERVER_DETECTION: 'none', ...(deadTemporal ? { TEMPORAL_ADDRESS: '127.0.0.1:1' } : {}) };
}

const children = new Set<ReturnType<typeof spawn>>();

function runCli(args: string[], deadTemporal: boolean): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: cliEnv(deadTemporal), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // a guard, not an assertion: a hung CLI is killed and shows up as a crash
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(guard);
      children.delete(child);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/**
 * CLI invocations queued as the cases are declared and run a few at a time in the background;
 * each case awaits its own result, and `drain` awaits them all.
 */
class CliPool {
  private queue: (() => Promise<void>)[] = [];
  private results = new Map<string, Promise<CliResult>>();
  private running = 0;

  constructor(private readonly lanes = 4) {}

  get(args: string[], opts: { deadTemporal?: boolean } = {}): Promise<CliResult> {
    const deadTemporal = opts.deadTemporal ?? false;
    const key = JSON.stringify([args, deadTemporal]);
    let p = this.results.get(key);
    if (!p) {
      p = new Promise<CliResult>((resolve, reject) => this.queue.push(() => runCli(args, deadTemporal).then(resolve, reject)));
      p.catch(() => undefined); // awaited by its case
      this.results.set(key, p);
      this.pump();
    }
    return p;
  }

  private pump(): void {
    while (this.running < this.lanes && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void job().finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.results.values()]);
  }
}

const STACK_TRACE = /\n\s+at .+[(:]\d+|at Object\.|at Module\.|node:internal|\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/;

/** A crash: killed, an exit code that is not ours, or a stack trace / raw JS error in the output. */
function cliCrashed(r: CliResult): boolean {
  return r.signal !== null || r.status === null || ![0, 1, 2, 3].includes(r.status) || STACK_TRACE.test(r.stderr + r.stdout);
}

function assertCleanRefusal(group: Group, r: CliResult, mustName: (string | RegExp)[], exit = EXIT_BAD_INPUT): void {
  if (cliCrashed(r)) tally[group].crashes++;
  const out = `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}\nstderr: ${r.stderr.slice(0, 2000)}\nstdout: ${r.stdout.slice(0, 500)}`;
  assert.equal(r.signal, null, out);
  assert.equal(r.status, exit, out);
  assert.doesNotMatch(r.stderr + r.stdout, STACK_TRACE, `no stack trace or raw JS error\n${out}`);
  assert.ok(r.stderr.trim() !== '', `says why on stderr\n${out}`);
  assert.ok(r.stderr.length < 8192, `a bounded message (${r.stderr.length} characters)`);
  for (const n of mustName) {
    if (typeof n === 'string') assert.ok(r.stderr.includes(n), `stderr names ${JSON.stringify(n)}\n${out}`);
    else assert.match(r.stderr, n, out);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared fixtures

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-r4-'));
const EXPORT = exportName('r4');
const config: Config = testConfig({ exports: { [EXPORT]: { query: 'SELECT 1' } } });
const goodConfigPath = path.join(tmp, 'good.json');
fs.writeFileSync(goodConfigPath, JSON.stringify(config));
const cli = new CliPool();

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await cli.drain();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Configs

type Raw = Record<string, Record<string, unknown>> & Record<string, unknown>;

/** A valid config as it would be written in a file (a fresh copy per case). */
function baseRaw(): Raw {
  return JSON.parse(JSON.stringify(config)) as Raw;
}

interface ConfigCase {
  name: string;
  /** the file's text, or a change to a valid config */
  text?: string;
  mutate?: (raw: Raw) => void;
  /** the issue path the message must name; a RegExp for long or quoted paths */
  field: string | RegExp;
  message?: RegExp;
  /** must not appear in the output (injected text, echoed secrets) */
  absent?: string[];
  /** what the CLI must print besides the field (default: the field) */
  cliNames?: (string | RegExp)[];
}

const exp = (raw: Raw) => (raw.exports as Record<string, Record<string, unknown>>)[EXPORT];
const ep = `exports.${EXPORT}`;
const FIVE_MB = 'h'.repeat(5 * 1024 * 1024);
const longName = 'x'.repeat(300);
const injectedKey = 'a\n  - sftp.password: looks fine';

const configCases: ConfigCase[] = [
  // invalid JSON: the position, never the text
  { name: 'invalid JSON: trailing comma', text: '{\n  "gcs": { "bucket": "b-ok" },\n  "sftp": {\n    "host": "x",\n  }\n}\n', field: /^\/.*\.json$/, message: /is not valid JSON: trailing comma before \} at line 5, column 3/ },
  { name: 'invalid JSON: single quotes', text: "{ 'gcs': {} }", field: /^\/.*\.json$/, message: /single quotes are not JSON: use double quotes at line 1, column 3/ },
  { name: 'invalid JSON: empty file', text: '', field: /^\/.*\.json$/, message: /unexpected end of input at line 1, column 1/ },
  { name: 'invalid JSON: missing value', text: '{"sftp": {"password": }}', field: /^\/.*\.json$/, message: /unexpected character at line 1, column 23/ },
  { name: 'invalid JSON: binary garbage with NUL bytes', text: '\u0000\u0001\u00ff{"a"', field: /^\/.*\.json$/, message: /is not valid JSON: .* at line 1, column 1/ },
  { name: 'invalid JSON: a million open brackets', text: '['.repeat(1_000_000), field: /^\/.*\.json$/, message: /is not valid JSON: .* at line 1, column \d+/ },
  { name: 'invalid JSON: 200,000 nested objects, never closed', text: '{"a":'.repeat(200_000), field: /^\/.*\.json$/, message: /is not valid JSON: .* at line 1, column \d+/ },
  { name: 'the whole config is a list', text: '[]', field: '', message: /must be an object, got an array/, cliNames: ['(root)'] },
  { name: 'the whole config is null', text: 'null', field: '', message: /must be an object, got null/, cliNames: ['(root)'] },
  // wrong types
  { name: 'sftp.port = "22" (a string)', mutate: (r) => (r.sftp.port = '22'), field: 'sftp.port', message: /must be a number, got a string/ },
  { name: 'sftp.port = 22.5', mutate: (r) => (r.sftp.port = 22.5), field: 'sftp.port', message: /whole number between 1 and 65535/ },
  { name: 'sftp.port = 0', mutate: (r) => (r.sftp.port = 0), field: 'sftp.port', message: /between 1 and 65535/ },
  { name: 'sftp.port = 70000', mutate: (r) => (r.sftp.port = 70000), field: 'sftp.port', message: /between 1 and 65535/ },
  { name: 'sftp.insecure_skip_host_key_check = "false"', mutate: (r) => (r.sftp.insecure_skip_host_key_check = 'false'), field: 'sftp.insecure_skip_host_key_check', message: /true or false, got a string/ },
  { name: `${ep}.query = 42`, mutate: (r) => (exp(r).query = 42), field: `${ep}.query`, message: /must be a string, got a number/ },
  { name: `${ep}.enabled = "yes"`, mutate: (r) => (exp(r).enabled = 'yes'), field: `${ep}.enabled`, message: /true or false/ },
  { name: 'exports = [] (a list)', mutate: (r) => ((r as Record<string, unknown>).exports = []), field: 'exports', message: /must be an object, got an array/ },
  { name: 'sftp.ciphers = "aes128-ctr" (not a list)', mutate: (r) => (r.sftp.ciphers = 'aes128-ctr'), field: 'sftp.ciphers', message: /must be a list/ },
  { name: 'sftp.ciphers = []', mutate: (r) => (r.sftp.ciphers = []), field: 'sftp.ciphers', message: /at least one cipher/ },
  // missing fields
  { name: 'no gcs block', mutate: (r) => delete r.gcs, field: 'gcs', message: /^required$/ },
  { name: 'no sftp.host', mutate: (r) => delete r.sftp.host, field: 'sftp.host', message: /^required$/ },
  { name: `no ${ep}.query`, mutate: (r) => delete exp(r).query, field: `${ep}.query`, message: /^required$/ },
  { name: 'no SFTP credentials', mutate: (r) => delete r.sftp.password, field: 'sftp.password', message: /set sftp.password, or sftp.private_key/ },
  { name: `${ep}.query = "   "`, mutate: (r) => (exp(r).query = '   '), field: `${ep}.query`, message: /must not be empty/ },
  // unknown keys
  { name: 'unknown key sftp.hots (typo)', mutate: (r) => (r.sftp.hots = 'x'), field: 'sftp.hots', message: /did you mean "host"/ },
  { name: 'unknown top-level key exprots', mutate: (r) => (r.exprots = {}), field: 'exprots', message: /did you mean "exports"/ },
  { name: 'a "__proto__" key', text: '{"__proto__": {"polluted": true}}', field: '__proto__', message: /unknown key/ },
  { name: 'unknown key with a newline (no injected line)', mutate: (r) => (r.sftp[injectedKey] = 1), field: /^sftp\["a\\n {2}- sftp\.password: looks fine"\]$/, message: /unknown key/, absent: ['\n  - sftp.password: looks fine'], cliNames: ['sftp["a\\n'] },
  { name: 'unknown key 5 MB long (path shortened)', mutate: (r) => (r.sftp[FIVE_MB] = 1), field: /^sftp\["h{40}…"\]$/, message: /unknown key/, cliNames: ['sftp["hhhh'] },
  // schedules
  { name: 'schedule.cron = "every day at 6"', mutate: (r) => (r.schedule = { cron: 'every day at 6' }), field: 'schedule.cron', message: /cron expression/ },
  { name: 'schedule.cron with 8 fields', mutate: (r) => (r.schedule = { cron: '0 6 * * * * * *' }), field: 'schedule.cron', message: /cron expression/ },
  { name: `${ep}.schedule.cron = "0 6 * * *; rm -rf /"`, mutate: (r) => (exp(r).schedule = { cron: '0 6 * * *; rm -rf /' }), field: `${ep}.schedule.cron`, message: /cron expression/ },
  { name: 'schedule.timezone = "Europe/Atlantis"', mutate: (r) => (r.schedule = { timezone: 'Europe/Atlantis' }), field: 'schedule.timezone', message: /IANA time zone/ },
  { name: `${ep}.schedule.timezone = "UTC; DROP TABLE x"`, mutate: (r) => (exp(r).schedule = { timezone: 'UTC; DROP TABLE x' }), field: `${ep}.schedule.timezone`, message: /IANA time zone/ },
  { name: 'schedule.catchup_window = "forever"', mutate: (r) => (r.schedule = { catchup_window: 'forever' }), field: 'schedule.catchup_window', message: /duration like/ },
  // numbers out of range
  { name: 'transfer.concurrency = 1e9', mutate: (r) => (r.transfer = { concurrency: 1e9 }), field: 'transfer.concurrency', message: /between 1 and 64/ },
  { name: 'transfer.concurrency = -1', mutate: (r) => (r.transfer = { concurrency: -1 }), field: 'transfer.concurrency', message: /between 1 and 64/ },
  { name: 'transfer.concurrency = 1e400 (Infinity)', text: JSON.stringify(baseRaw()).replace('"transfer":{', '"transfer":{"concurrency":1e400,').replace(/"concurrency":4,/, ''), field: 'transfer.concurrency', message: /non-finite number/ },
  { name: 'transfer.chunk_size = 1e12', mutate: (r) => (r.transfer = { chunk_size: 1e12 }), field: 'transfer.chunk_size', message: /between 1024 and 262144/ },
  { name: 'gcs.expiration_days = -5', mutate: (r) => (r.gcs.expiration_days = -5), field: 'gcs.expiration_days', message: /between 1 and 3650/ },
  { name: 'http.port = 70000', mutate: (r) => (r.http = { port: 70000 }), field: 'http.port', message: /between 0 and 65535/ },
  { name: 'temporal.address = "127.0.0.1:99999"', mutate: (r) => (r.temporal.address = '127.0.0.1:99999'), field: 'temporal.address', message: /port/ },
  { name: 'temporal.address = "localhost" (no port)', mutate: (r) => (r.temporal.address = 'localhost'), field: 'temporal.address', message: /host:port/ },
  // names and paths
  { name: 'gcs.bucket = "My_Bucket" (upper case)', mutate: (r) => (r.gcs.bucket = 'My_Bucket'), field: 'gcs.bucket', message: /valid GCS bucket name/ },
  { name: 'gcs.bucket = "ab" (too short)', mutate: (r) => (r.gcs.bucket = 'ab'), field: 'gcs.bucket', message: /3-63 characters/ },
  { name: 'gcs.bucket = "192.168.1.1"', mutate: (r) => (r.gcs.bucket = '192.168.1.1'), field: 'gcs.bucket', message: /IP address/ },
  { name: 'gcs.bucket = "b/../x"', mutate: (r) => (r.gcs.bucket = 'b/../x'), field: 'gcs.bucket', message: /valid GCS bucket name/ },
  { name: 'sftp.directory = "upload" (relative)', mutate: (r) => (r.sftp.directory = 'upload'), field: 'sftp.directory', message: /absolute path/ },
  { name: 'sftp.directory = "/upload/../etc"', mutate: (r) => (r.sftp.directory = '/upload/../etc'), field: 'sftp.directory', message: /'\.\.'/ },
  { name: 'sftp.directory with a NUL', mutate: (r) => (r.sftp.directory = '/upload/\u0000x'), field: 'sftp.directory', message: /control characters/ },
  { name: `${ep}.destination = "../outside"`, mutate: (r) => (exp(r).destination = '../outside'), field: `${ep}.destination`, message: /absolute path/ },
  { name: `${ep}.file_name_template = "../{date}.csv"`, mutate: (r) => (exp(r).file_name_template = '../{date}.csv'), field: `${ep}.file_name_template`, message: /is not supported/ },
  { name: `${ep}.format = "XML"`, mutate: (r) => (exp(r).format = 'XML'), field: `${ep}.format`, message: /one of CSV, JSON, AVRO, PARQUET/ },
  { name: 'slack.webhook_url = "javascript:alert(1)"', mutate: (r) => (r.slack = { webhook_url: 'javascript:alert(1)' }), field: 'slack.webhook_url', message: /http:\/\/ or https:\/\/ URL/ },
  ...[
    ['a;b', 'exports.a;b'],
    ['$(id)', 'exports.$(id)'],
    ['../etc', 'exports.../etc'],
    ['my export', 'exports.my export'],
    ["x'; DROP TABLE exports; --", "exports.x'; DROP TABLE exports; --"],
  ].map(([bad, field]) => ({
    name: `export name ${show(bad)}`,
    mutate: (r: Raw) => ((r.exports as Record<string, unknown>)[bad] = { query: 'SELECT 1' }),
    field,
    message: /is not a valid export name/,
  })),
  { name: 'export name 300 characters long (path shortened)', mutate: (r) => ((r.exports as Record<string, unknown>)[longName] = { query: 'SELECT 1' }), field: /^exports\["x{40}…"\]$/, message: /is not a valid export name/, cliNames: ['exports["xxxx'] },
  { name: 'export name with a newline (no injected line)', mutate: (r) => ((r.exports as Record<string, unknown>)[injectedKey] = { query: 'SELECT 1' }), field: /^exports\["a\\n/, message: /is not a valid export name/, absent: ['\n  - sftp.password: looks fine'], cliNames: ['exports["a\\n'] },
  // host key pins
  { name: 'sftp.host_key = "SHA256:short"', mutate: (r) => (r.sftp.host_key = 'SHA256:short'), field: 'sftp.host_key', message: /SHA256 fingerprint/ },
  { name: 'sftp.host_key = "ssh-ed25519" (no key)', mutate: (r) => (r.sftp.host_key = 'ssh-ed25519'), field: 'sftp.host_key', message: /known_hosts line/ },
  { name: 'sftp.host_key = "md5:aa:bb"', mutate: (r) => (r.sftp.host_key = 'md5:aa:bb:cc'), field: 'sftp.host_key', message: /SHA256 fingerprint/ },
  // huge values
  { name: 'sftp.host = a 5 MB string', mutate: (r) => (r.sftp.host = FIVE_MB), field: 'sftp.host', message: /at most 253 characters/ },
  { name: `${ep}.query = a 5 MB string`, mutate: (r) => (exp(r).query = `SELECT '${FIVE_MB}'`), field: `${ep}.query`, message: /at most 1,048,576 characters/ },
  { name: 'sftp.password = a number (never echoed)', mutate: (r) => (r.sftp.password = 123456789), field: 'sftp.password', message: /must be a string, got a number/, absent: ['123456789'] },
];

describe('R4 bad input: configs (loadConfig and `bq-sftp status -c <file>`)', () => {
  const files = new Map<string, string>();
  configCases.forEach((c, i) => {
    const file = path.join(tmp, `config-${i}.json`);
    files.set(c.name, file);
    if (c.text !== undefined) fs.writeFileSync(file, c.text);
    else {
      const raw = baseRaw();
      c.mutate!(raw);
      fs.writeFileSync(file, JSON.stringify(raw, null, 2));
    }
    // `status` only reads; if a bad config were accepted it would still change nothing
    void cli.get(['status', EXPORT, '--date', '2025-01-08', '-c', file]);
  });

  for (const c of configCases) {
    const fieldShown = typeof c.field === 'string' ? c.field || '(root)' : String(c.field);
    badCase('config', `config: ${c.name} → names ${fieldShown}`, async () => {
      const file = files.get(c.name)!;
      let err: unknown;
      try {
        loadConfig({ path: file, env: {} });
      } catch (e) {
        err = e;
      }
      if (err !== undefined && !isConfigError(err)) tally.config.crashes++;
      assert.ok(isConfigError(err), `loadConfig throws a ConfigError, got ${String(err)}`);
      assert.equal(err.type, 'ConfigInvalid');
      const issue = err.issues.find((i) => (typeof c.field === 'string' ? i.path === c.field : c.field.test(i.path)));
      assert.ok(issue, `an issue at ${fieldShown}; got ${JSON.stringify(err.issues.map((i) => i.path)).slice(0, 500)}`);
      if (c.message) assert.match(issue.message, c.message);
      assert.ok(err.message.length < 8192, `a bounded message (${err.message.length} characters)`);
      for (const a of c.absent ?? []) assert.ok(!err.message.includes(a), `the message does not contain ${JSON.stringify(a)}`);

      const r = await cli.get(['status', EXPORT, '--date', '2025-01-08', '-c', file]);
      assertCleanRefusal('config', r, c.cliNames ?? (typeof c.field === 'string' ? [c.field] : []));
      assert.match(r.stderr, /^bq-sftp: Invalid config /);
      assert.ok(r.stderr.includes(`  - ${issue.path || '(root)'}: ${issue.message}`), `stderr lists the same issue as loadConfig\n${r.stderr.slice(0, 1000)}`);
      for (const a of c.absent ?? []) assert.ok(!r.stderr.includes(a), `stderr does not contain ${JSON.stringify(a)}`);
    });
  }

  const missing = path.join(tmp, 'no-such-config.json');
  void cli.get(['status', EXPORT, '-c', missing]);
  void cli.get(['status', EXPORT, '-c', tmp]);
  badCase('config', 'config: --config names a file that does not exist → names the file', async () => {
    const r = await cli.get(['status', EXPORT, '-c', missing]);
    assertCleanRefusal('config', r, [missing, /file not found/]);
  });
  badCase('config', 'config: --config names a folder → says so', async () => {
    const r = await cli.get(['status', EXPORT, '-c', tmp]);
    assertCleanRefusal('config', r, [tmp, /is a directory/]);
  });
});

// ---------------------------------------------------------------------------------------------
// CLI requests (valid config, bad arguments and options)

interface CliCase {
  name: string;
  args: string[];
  names: (string | RegExp)[];
  absent?: string[];
  /** how stderr starts (default: one `bq-sftp: …` or `error: …` line) */
  first?: RegExp;
  /** the exit code, if not the one for bad input */
  exit?: number;
}

const withConfig = ['-c', goodConfigPath];
const secretConfigPath = path.join(tmp, 'sftp-secret.json');
fs.writeFileSync(secretConfigPath, '{"sftp": {"host": "127.0.0.1", "username": "u", "password": s3cret-Value-42}}');
const badDates = ['2025-02-30', '2025-13-01', '20250101', '2025-1-1', '2023-02-29', '0000-01-01', '2025-01-01T00:00:00Z', '2025-01-01; rm -rf /', '$(id)', '', ' 2025-01-01', 'd'.repeat(10_000)];
const badExports = ['no_such_export', '$(id)', "x'; DROP TABLE exports; --", '../../etc/passwd', 'e'.repeat(10_000), '', 'a\nb'];

const cliCases: CliCase[] = [
  ...badDates.map((d) => ({ name: `run --date ${show(d)}`, args: ['run', EXPORT, '--date', d, '--no-wait', ...withConfig], names: ['--date', /invalid date/, /YYYY-MM-DD/] })),
  { name: 'status --date 2025-02-30', args: ['status', EXPORT, '--date', '2025-02-30', ...withConfig], names: ['--date', '"2025-02-30"'] },
  { name: 'retry --date 2025-13-01', args: ['retry', EXPORT, '--date', '2025-13-01', '--no-wait', ...withConfig], names: ['--date', '"2025-13-01"'] },
  { name: 'retry without --date', args: ['retry', EXPORT, ...withConfig], names: [/required option '-d, --date <YYYY-MM-DD>' not specified/] },
  { name: 'run --date with no value', args: ['run', EXPORT, ...withConfig, '--date'], names: [/option '-d, --date <YYYY-MM-DD>' argument missing/] },
  ...badExports.map((e) => ({
    name: `run ${show(e)} (unknown export)`,
    args: ['run', e, '--date', '2025-01-08', '--no-wait', ...withConfig],
    names: [/unknown export/, EXPORT],
    absent: e.length > 100 ? [e.slice(0, 200)] : e.includes('\n') ? ['a\nb'] : [],
  })),
  { name: 'status of an unknown export', args: ['status', '../x', '--date', '2025-01-08', ...withConfig], names: [/unknown export "\.\.\/x"/] },
  { name: 'runs --export ../x (unknown export)', args: ['runs', '--export', '../x', ...withConfig], names: [/unknown export "\.\.\/x"/] },
  { name: 'runs --limit 0', args: ['runs', '--limit', '0', ...withConfig], names: ['--limit'] },
  { name: 'runs --limit abc', args: ['runs', '--limit', 'abc', ...withConfig], names: ['--limit', '"abc"'] },
  { name: "runs --status \"x' OR 1=1\"", args: ['runs', '--status', "x' OR 1=1", ...withConfig], names: ['--status'] },
  { name: 'backfill --from after --to', args: ['backfill', EXPORT, '--from', '2025-01-10', '--to', '2025-01-01', ...withConfig], names: ['--to', '--from'] },
  { name: 'backfill over 25 years', args: ['backfill', EXPORT, '--from', '2000-01-01', '--to', '2025-01-01', ...withConfig], names: ['--from', '--to', /at most 366/] },
  { name: 'backfill --from 2025-02-30', args: ['backfill', EXPORT, '--from', '2025-02-30', '--to', '2025-03-02', ...withConfig], names: ['--from', '"2025-02-30"'] },
  { name: 'backfill --to $(id)', args: ['backfill', EXPORT, '--from', '2025-01-01', '--to', '$(id)', ...withConfig], names: ['--to', '"$(id)"'] },
  { name: 'backfill without --to', args: ['backfill', EXPORT, '--from', '2025-01-01', ...withConfig], names: [/required option '--to <YYYY-MM-DD>' not specified/] },
  { name: 'backfill --concurrency 1e9', args: ['backfill', EXPORT, '--from', '2025-01-01', '--to', '2025-01-02', '--concurrency', '1e9', ...withConfig], names: ['--concurrency'] },
  { name: 'backfill with neither an export nor --all', args: ['backfill', '--from', '2025-01-01', '--to', '2025-01-02', ...withConfig], names: ['--all'] },
  { name: 'backfill with an export and --all', args: ['backfill', EXPORT, '--all', '--from', '2025-01-01', '--to', '2025-01-02', ...withConfig], names: ['--all'] },
  { name: 'backfill of an unknown export', args: ['backfill', '../../etc/passwd', '--from', '2025-01-01', '--to', '2025-01-02', ...withConfig], names: [/unknown export/] },
  { name: 'serve --port 70000', args: ['serve', '--port', '70000', ...withConfig], names: ['--port', '"70000"'] },
  { name: 'serve --port abc', args: ['serve', '--port', 'abc', ...withConfig], names: ['--port', '"abc"'] },
  { name: 'run --bogus (unknown option)', args: ['run', EXPORT, '--bogus', ...withConfig], names: [/unknown option '--bogus'/] },
  { name: 'run without an export', args: ['run', ...withConfig], names: [/missing required argument 'export'/] },
  { name: 'run with two exports', args: ['run', EXPORT, 'other', ...withConfig], names: [/too many arguments for 'run'/] },
  { name: 'an unknown command', args: ['frobnicate', ...withConfig], names: [/unknown command 'frobnicate'/] },
  {
    name: 'sftp ls -c <invalid JSON holding a password> (position only, the password never shown)',
    args: ['sftp', 'ls', '-c', secretConfigPath],
    names: [secretConfigPath, /is not valid JSON: unexpected character at line 1, column 61/],
    absent: ['s3cret-Value-42'],
  },
  { name: 'schedules without a sub-command (usage on stderr)', args: ['schedules'], names: [/Commands:\n\s+sync/], first: /^Usage: bq-sftp schedules / },
];

describe('R4 bad input: CLI requests (refused before anything talks to Temporal)', () => {
  // every refusal here needs no Temporal: the CLI gets TEMPORAL_ADDRESS of a closed port
  for (const k of cliCases) void cli.get(k.args, { deadTemporal: true });

  for (const k of cliCases) {
    badCase('cli', `cli: bq-sftp ${k.name} → exit ${k.exit ?? EXIT_BAD_INPUT}, names ${k.names.map(String).join(', ')}`, async () => {
      const r = await cli.get(k.args, { deadTemporal: true });
      assertCleanRefusal('cli', r, k.names, k.exit);
      assert.match(r.stderr, k.first ?? /^(bq-sftp: |error: )/, 'one clear line first');
      assert.equal(r.stdout, '', 'nothing on stdout');
      for (const a of k.absent ?? []) assert.ok(!r.stderr.includes(a), `stderr does not repeat ${show(a)}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// HTTP

interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json?: Record<string, unknown>;
}

let server: http.Server | undefined;
let client: Client | undefined;
let base = '';

async function request(method: string, urlPath: string, opts: { body?: string | Buffer; contentType?: string | null } = {}): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  // a guard, not an assertion: a request that hangs fails its case instead of the whole file
  const res = await fetch(base + urlPath, { method, headers, body: opts.body, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

interface HttpCase {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string | Buffer;
  contentType?: string | null;
  status: number;
  error?: string;
  /** the message must name this field */
  names: RegExp;
}

const gcsOk = `gs://${info.gcs.bucket}/${EXPORT}/20250108/`;
const runsPath = `/exports/${EXPORT}/runs`;

const httpCases: HttpCase[] = [
  { name: 'malformed JSON', method: 'POST', path: '/transfer', raw: '{not json', status: 400, error: 'bad_request', names: /^body: is not valid JSON/ },
  { name: 'JSON with a trailing comma', method: 'POST', path: '/verify', raw: `{"export_name": "${EXPORT}",}`, status: 400, names: /^body: is not valid JSON/ },
  { name: 'a JSON list instead of an object', method: 'POST', path: '/transfer', body: [], status: 400, names: /^body: / },
  { name: 'a JSON null body', method: 'POST', path: runsPath, raw: 'null', status: 400, names: /^body: / },
  { name: 'content-type text/plain', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: gcsOk }, contentType: 'text/plain', status: 415, error: 'unsupported_media_type', names: /content-type: must be application\/json/ },
  { name: 'content-type form-urlencoded', method: 'POST', path: runsPath, raw: 'date=2025-01-08', contentType: 'application/x-www-form-urlencoded', status: 415, names: /content-type/ },
  { name: 'missing export_name and gcs_path', method: 'POST', path: '/transfer', body: {}, status: 400, names: /body\/export_name: .*body\/gcs_path: /s },
  { name: 'export_name is a number', method: 'POST', path: '/transfer', body: { export_name: 42, gcs_path: gcsOk }, status: 400, names: /body\/export_name/ },
  { name: 'gcs_path is a number', method: 'POST', path: '/verify', body: { export_name: EXPORT, gcs_path: 5 }, status: 400, names: /body\/gcs_path/ },
  { name: 'gcs_path is a local path', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: '/etc/passwd' }, status: 400, names: /body\/gcs_path: must be gs:\/\// },
  { name: 'gcs_path is s3://', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: `s3://${info.gcs.bucket}/${EXPORT}/20250108/` }, status: 400, names: /body\/gcs_path/ },
  { name: 'gcs_path is http://', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: `http://evil.example/${EXPORT}/20250108/` }, status: 400, names: /body\/gcs_path/ },
  { name: 'gcs_path with an upper-case bucket', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: `gs://UPPER_Bucket/${EXPORT}/20250108/` }, status: 400, names: /body\/gcs_path/ },
  { name: 'gcs_path in another bucket', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: `gs://other-bucket/${EXPORT}/20250108/` }, status: 400, names: /body\/gcs_path: must be under/ },
  { name: 'gcs_path escaping the export with ..', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: `gs://${info.gcs.bucket}/${EXPORT}/../other/20250108/` }, status: 400, names: /body\/gcs_path: .*'\.\.'/ },
  { name: 'gcs_path with a control character', method: 'POST', path: '/verify', body: { export_name: EXPORT, gcs_path: `gs://${info.gcs.bucket}/${EXPORT}/2025\u00010108/` }, status: 400, names: /body\/gcs_path/ },
  { name: 'date 2025-02-30', method: 'POST', path: '/transfer', body: { export_name: EXPORT, gcs_path: gcsOk, date: '2025-02-30' }, status: 400, names: /body\/date: .*2025-02-30/ },
  { name: 'date 2025-13-01 (start a run)', method: 'POST', path: runsPath, body: { date: '2025-13-01' }, status: 400, names: /body\/date/ },
  { name: 'date "2025-01-01/../../x" ({date} traversal)', method: 'POST', path: runsPath, body: { date: '2025-01-01/../../x' }, status: 400, names: /body\/date/ },
  { name: "date \"2025-01-01'; DROP TABLE x; --\" ({date} injection)", method: 'POST', path: runsPath, body: { date: "2025-01-01'; DROP TABLE x; --" }, status: 400, names: /body\/date/ },
  { name: 'date as a number', method: 'POST', path: runsPath, body: { date: 20250101 }, status: 400, names: /body\/date/ },
  { name: 'date null', method: 'POST', path: runsPath, body: { date: null }, status: 400, names: /body\/date/ },
  { name: 'date 1e400', method: 'POST', path: runsPath, raw: '{"date": 1e400}', status: 400, names: /body\/date/ },
  { name: 'an unknown field', method: 'POST', path: runsPath, body: { date: '2025-01-08', force: true }, status: 400, names: /body: .*"force"/ },
  { name: 'a "__proto__" field', method: 'POST', path: runsPath, raw: '{"__proto__": {"polluted": true}}', status: 400, names: /body: .*__proto__/ },
  { name: 'export_name 10,000 characters', method: 'POST', path: '/transfer', body: { export_name: 'n'.repeat(10_000), gcs_path: gcsOk }, status: 400, names: /body\/export_name/ },
  { name: 'export_name "../../etc/passwd"', method: 'POST', path: '/transfer', body: { export_name: '../../etc/passwd', gcs_path: gcsOk }, status: 404, error: 'unknown_export', names: /body\/export_name: unknown export/ },
  { name: 'export_name "$(id)"', method: 'POST', path: '/verify', body: { export_name: '$(id)', gcs_path: gcsOk }, status: 404, error: 'unknown_export', names: /body\/export_name: unknown export/ },
  { name: 'export name "..%2F..%2Fetc%2Fpasswd" in the path', method: 'POST', path: '/exports/..%2F..%2Fetc%2Fpasswd/runs', body: {}, status: 404, error: 'unknown_export', names: /path\/name: unknown export "\.\.\/\.\.\/etc\/passwd"/ },
  { name: 'export name "%24(id)" in the path', method: 'POST', path: '/exports/%24(id)/runs', body: {}, status: 404, names: /path\/name: unknown export/ },
  { name: 'export name with NUL in the path', method: 'POST', path: '/exports/a%00b/runs', body: {}, status: 404, names: /path\/name: unknown export "a\\u0000b"/ },
  { name: 'export name 10,000 characters in the path', method: 'POST', path: `/exports/${'p'.repeat(10_000)}/runs`, body: {}, status: 404, names: /path\/name: unknown export/ },
  { name: 'malformed percent-encoding in the path', method: 'POST', path: '/exports/%E0%A4%A/runs', body: {}, status: 400, names: /path: .*percent-encoding/ },
  { name: 'run id "..%2F..%2Fetc%2Fpasswd"', method: 'GET', path: '/runs/..%2F..%2Fetc%2Fpasswd', status: 404, error: 'unknown_run', names: /no run with workflow ID/ },
  { name: 'run id 5,000 characters', method: 'GET', path: `/runs/${'w'.repeat(5000)}`, status: 400, names: /path\/workflowId/ },
  { name: 'run id with control characters', method: 'GET', path: '/runs/export-x-2025-01-01%0A%1B%5B2J', status: 400, names: /path\/workflowId/ },
  { name: 'run id with malformed percent-encoding', method: 'GET', path: '/runs/%ZZ', status: 400, names: /path: .*percent-encoding/ },
  { name: 'a 5 MB body', method: 'POST', path: '/transfer', raw: Buffer.alloc(5 * 1024 * 1024, 'a'), status: 413, error: 'too_large', names: /^body: larger than/ },
  { name: 'a body nested 30,000 levels deep', method: 'POST', path: '/transfer', raw: '['.repeat(30_000) + ']'.repeat(30_000), status: 400, names: /^body: / },
  { name: 'an unknown route', method: 'GET', path: '/../../etc/passwd', status: 404, error: 'not_found', names: /no route GET \/etc\/passwd/ },
  { name: 'POST to an unknown route with a bad body', method: 'POST', path: '/nope', raw: '{bad', status: 404, error: 'not_found', names: /no route POST \/nope/ },
  { name: 'DELETE /transfer', method: 'DELETE', path: '/transfer', status: 405, error: 'method_not_allowed', names: /method: DELETE .*POST/ },
  { name: 'GET /verify', method: 'GET', path: '/verify', status: 405, error: 'method_not_allowed', names: /method: GET .*POST/ },
  { name: 'PUT on a run', method: 'PUT', path: `/runs/export-${EXPORT}-2025-01-08`, body: {}, status: 405, names: /method: PUT .*GET/ },
  { name: 'POST /health', method: 'POST', path: '/health', body: {}, status: 405, names: /method: POST .*GET/ },
];

describe('R4 bad input: HTTP API (a real server and Temporal client)', () => {
  before(async () => {
    client = await clientFor(config);
    server = createApi({ config, client }).server();
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    if (server) await new Promise((r) => server!.close(r));
    if (client) {
      // none of these requests may start a run; if one did, it must not stay behind on the shared server
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${config.temporal.task_queue}' AND ExecutionStatus = 'Running'` })) {
        await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('R4 bad-input test: a bad request started a run');
      }
      await client.connection.close();
    }
  });

  for (const h of httpCases) {
    badCase('http', `http: ${h.method} ${h.path.length > 60 ? `${h.path.slice(0, 60)}…` : h.path} — ${h.name} → ${h.status}`, async () => {
      const body = h.raw ?? (h.body === undefined ? undefined : JSON.stringify(h.body));
      let r: HttpReply;
      try {
        r = await request(h.method, h.path, { body, contentType: h.contentType });
      } catch (err) {
        tally.http.crashes++;
        throw err;
      }
      if (r.status >= 500 || r.json === undefined) tally.http.crashes++;
      const shown = `${r.status} ${r.text.slice(0, 600)}`;
      assert.equal(r.status, h.status, shown);
      assert.ok(r.json, `a JSON body: ${shown}`);
      assert.equal(r.headers.get('content-type'), 'application/json');
      if (h.error) assert.equal(r.json.error, h.error, shown);
      assert.equal(typeof r.json.message, 'string', shown);
      assert.match(String(r.json.message), h.names, shown);
      assert.ok(r.text.length < 4096, `a bounded answer (${r.text.length} characters)`);
      if (h.status === 405) assert.ok(r.headers.get('allow'), 'an Allow header');
    });
  }

  badCase('http', 'http: a client that sends half a body and hangs up does not take the server down', async () => {
    const { port } = server!.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`POST /transfer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"export_name": "`);
        socket.end(() => socket.destroy());
      });
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    const r = await request('GET', '/health');
    if (r.status !== 200) tally.http.crashes++;
    assert.equal(r.status, 200, r.text);
  });

  badCase('http', 'http: after every bad request above, GET /health still answers 200 (0 crashes)', async () => {
    const r = await request('GET', '/health');
    if (r.status !== 200) tally.http.crashes++;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json?.status, 'healthy');
  });
});

// ---------------------------------------------------------------------------------------------
// Object names

const C0 = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i));
const unsafeNames: string[] = [
  '',
  '.',
  '..',
  '../x',
  '../../../../etc/passwd',
  'a/../b',
  'x/..',
  '/abs',
  '/etc/passwd',
  '//x',
  'a/b',
  'a/',
  './x',
  ...C0.map((ch) => `bad${ch}name.csv`),
  '\u0000',
  'nul\u0000.csv',
  '\u007f',
  'del\u007f.csv',
  'line\r\nbreak.csv',
  '\u001b[2Jclear.csv',
];
const safeNames = ['F_20250108-000000000000.csv', '..x', 'a..b', '.hidden', 'name with spaces.csv', 'ünïcode.csv', '$(id).csv'];

describe('R4 bad input: object names', () => {
  for (const name of unsafeNames) {
    badCase('object names', `object name ${show(name)} is refused by assertSafeName`, () => {
      let err: unknown;
      try {
        assertSafeName(name);
      } catch (e) {
        err = e;
      }
      if (err !== undefined && !isSftpError(err)) tally['object names'].crashes++;
      assert.ok(isSftpError(err), `refused with an SftpError, got ${String(err)}`);
      assert.equal(err.type, 'SftpUnsafePath');
      assert.match(err.message, /Refused .*Nothing was written or deleted/);
    });
  }

  test('plain names (even odd ones) are accepted, so the refusals above are not blanket', () => {
    for (const name of safeNames) assert.doesNotThrow(() => assertSafeName(name), name);
  });

  // transferFiles, with the listing faked at the storage seam (fake-gcs-server normalises `..` and `//`)
  const deps = buildActivityDeps(config);
  after(() => deps.sftpPool.closeAll());
  // (a name ending in '/' is a folder placeholder, never transferred)
  for (const evil of unsafeNames.filter((n) => n !== '' && !n.endsWith('/'))) {
    badCase('transferFiles', `transferFiles refuses a listing holding ${show(evil)} and writes 0 files`, async () => {
      let reads = 0;
      const fake = {
        bucket: () => ({
          getFiles: async () => [
            [
              { name: `${EXPORT}/20250108/F_20250108-000000000000.csv`, metadata: { size: '1' } },
              { name: `${EXPORT}/20250108/${evil}`, metadata: { size: '1' } },
            ],
          ],
          file: () => {
            reads++;
            throw new Error('must not read any object');
          },
        }),
      } as unknown as Storage;
      const err = await new MockActivityEnvironment()
        .run(createTransferFiles({ ...deps, storage: fake }), { exportName: EXPORT, date: '2025-01-08', gcsPath: gcsOk })
        .then(() => undefined, (e: unknown) => e);
      if (err !== undefined && !(err instanceof ApplicationFailure)) tally.transferFiles.crashes++;
      assert.ok(err instanceof ApplicationFailure, `refused with an ApplicationFailure, got ${String(err)}`);
      assert.equal(err.type, 'UnsafeObjectName');
      assert.equal(err.nonRetryable, true);
      assert.equal(reads, 0, 'no object was read');
      assert.deepEqual(listLocal(config.sftp!.directory), [], '0 files written');
    });
  }

  for (const evil of ['\u001b[2Jclear.csv', 'del\u007f.csv']) {
    badCase('transferFiles', `transferFiles refuses the real emulator's object ${show(evil)} and writes 0 files`, async () => {
      const name = exportName('r4ctl');
      const cfg = testConfig({ exports: { [name]: { query: 'SELECT 1' } } });
      const realDeps = buildActivityDeps(cfg);
      const bucket = storage().bucket(info.gcs.bucket);
      await bucket.file(`${name}/20250108/F_20250108-000000000000.csv`).save(Buffer.from('a\n'), { resumable: false });
      await bucket.file(`${name}/20250108/${evil}`).save(Buffer.from('b\n'), { resumable: false });
      try {
        const [listed] = await bucket.getFiles({ prefix: `${name}/20250108/` });
        assert.ok(listed.some((f) => f.name.endsWith(evil)), 'the emulator kept the name as given');
        const err = await new MockActivityEnvironment()
          .run(createTransferFiles(realDeps), { exportName: name, date: '2025-01-08', gcsPath: `gs://${info.gcs.bucket}/${name}/20250108/` })
          .then(() => undefined, (e: unknown) => e);
        if (err !== undefined && !(err instanceof ApplicationFailure)) tally.transferFiles.crashes++;
        assert.ok(err instanceof ApplicationFailure, `refused with an ApplicationFailure, got ${String(err)}`);
        assert.equal(err.type, 'UnsafeObjectName');
        assert.deepEqual(listLocal(cfg.sftp!.directory), [], '0 files written');
      } finally {
        await realDeps.sftpPool.closeAll();
        await bucket.deleteFiles({ prefix: `${name}/` }).catch(() => undefined);
      }
    });
  }
});
