/**
 * `bq-sftp --help`, `--version`, `config check` and every command's `--help` load no SDK: the
 * Temporal worker and client SDKs, BigQuery, Cloud Storage, Box, OpenPGP, pg, SQLite, ssh2,
 * Parquet are loaded inside the commands that use them (issue 18: the CLI's start time). Each
 * case runs the CLI in a child process with a preloaded hook that lists every module it loaded.
 * Likewise a worker's start (its module and every family's activities) loads no family-specific
 * library: OpenPGP, Box, SQLite, Parquet, pg load with their first use. Behaviour, not timing; no
 * stack needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';

const bin = path.join(repoRoot, 'bin/bq-sftp.js');

/** Packages none of these commands may load (matched as node_modules/<name>/). */
const HEAVY = [
  '@temporalio/worker',
  '@temporalio/core-bridge',
  '@temporalio/client',
  '@grpc/grpc-js',
  '@google-cloud/bigquery',
  '@google-cloud/storage',
  'box-typescript-sdk-gen',
  'openpgp',
  'pg',
  'better-sqlite3',
  'ssh2',
  'hyparquet',
  'hyparquet-writer',
  'prom-client',
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-lazy-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

// preloaded into the CLI's process: at exit, every module file it loaded (require cache) to $BQSFTP_TEST_MODULES
const hook = path.join(dir, 'list-modules.cjs');
fs.writeFileSync(
  hook,
  "process.on('exit', () => require('node:fs').writeFileSync(process.env.BQSFTP_TEST_MODULES, Object.keys(require.cache).join('\\n')));\n",
);

// walks the program's commands and prints each one's help in this one process (each a fresh program)
const walker = path.join(dir, 'walk-help.cjs');
fs.writeFileSync(
  walker,
  `const { buildProgram, runCli } = require(${JSON.stringify(path.join(repoRoot, 'src/cli/main.ts'))});
const paths = [];
(function walk(cmd, prefix) {
  for (const sub of cmd.commands) {
    paths.push([...prefix, sub.name()]);
    walk(sub, [...prefix, sub.name()]);
  }
})(buildProgram(), []);
(async () => {
  for (const p of paths) {
    const code = await runCli([...p, '--help']);
    if (code !== 0) throw new Error(p.join(' ') + ' --help exited ' + code);
  }
  process.stderr.write('helped ' + paths.length + ' commands\\n');
})().catch((err) => { process.stderr.write(String(err) + '\\n'); process.exitCode = 1; });
`,
);

let n = 0;
/** Runs node with the hook and `args`; returns its exit, output and the loaded packages of interest. */
function loaded(args: string[], env: Record<string, string> = {}, preload: string[] = []) {
  const list = path.join(dir, `modules-${++n}.txt`);
  const r = spawnSync(process.execPath, ['--require', hook, ...preload.flatMap((p) => ['--require', p]), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, ...env, BQSFTP_TEST_MODULES: list },
  });
  const files = fs.existsSync(list) ? fs.readFileSync(list, 'utf8').split('\n') : [];
  const has = (pkg: string) => files.some((f) => f.includes(`${path.sep}node_modules${path.sep}${pkg}${path.sep}`));
  return { ...r, files, heavy: HEAVY.filter(has), has };
}

test('bq-sftp --help and --version load commander and the command modules, no SDK', () => {
  for (const args of [['--help'], ['--version']]) {
    const r = loaded([bin, ...args]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, args[0] === '--help' ? /Usage: bq-sftp/ : /^bq-sftp \d+\.\d+\.\d+ \(Temporal TypeScript SDK /);
    assert.ok(r.has('commander') && r.files.some((f) => /[/\\]cli[/\\]main\.(ts|js)$/.test(f)), 'the hook saw the CLI load');
    assert.deepEqual(r.heavy, [], `bq-sftp ${args[0]} loaded ${r.heavy.join(', ')}`);
    assert.ok(!r.has('zod'), `bq-sftp ${args[0]} loads no config schema`);
  }
});

test('bq-sftp config check validates with the config schema alone, no SDK', () => {
  const good = path.join(dir, 'good.json');
  fs.writeFileSync(
    good,
    JSON.stringify({
      temporal: { address: '127.0.0.1:7233' },
      gcs: { bucket: 'my-exports', project_id: 'my-project' },
      bigquery: { project_id: 'my-project' },
      sftp: { host: 'sftp.example.com', username: 'u', password: { env: 'LAZY_TEST_SFTP_PASSWORD' }, directory: '/upload' },
      exports: { daily: { query: 'SELECT 1' } },
    }),
  );
  const r = loaded([bin, 'config', 'check', '-c', good], { LAZY_TEST_SFTP_PASSWORD: 'x' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^config OK: 1 export \(daily\)/);
  assert.ok(r.has('zod'), 'the config was validated');
  assert.deepEqual(r.heavy, [], `config check loaded ${r.heavy.join(', ')}`);
});

test("every command's --help loads no SDK", () => {
  const r = loaded(['--require', 'tsx/cjs', walker]);
  assert.equal(r.status, 0, r.stderr);
  const count = Number(/helped (\d+) commands/.exec(r.stderr)?.[1]);
  assert.ok(count >= 40, `every command was asked for its help (${count})`);
  assert.match(r.stdout, /Usage: bq-sftp backup restore/);
  assert.deepEqual(r.heavy, [], `a command's --help loaded ${r.heavy.join(', ')}`);
});

// what `bq-sftp worker` loads before it connects: the worker module, the activity deps, every family's activities
const workerStart = path.join(dir, 'worker-start.cjs');
fs.writeFileSync(
  workerStart,
  `const src = ${JSON.stringify(path.join(repoRoot, 'src'))};
const { loadConfig } = require(src + '/config/index.ts');
require(src + '/worker.ts');
const { createActivities } = require(src + '/activities/index.ts');
const { buildActivityDeps } = require(src + '/activities/deps.ts');
const activities = createActivities(buildActivityDeps(loadConfig({ path: process.argv[2] })));
process.stdout.write(Object.keys(activities).length + ' activities\\n');
`,
);

test("a worker's start loads no family-specific library (OpenPGP, Box, SQLite, Parquet, pg): they load on first use", () => {
  const config = path.join(dir, 'worker.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      temporal: { address: '127.0.0.1:7233' },
      gcs: { bucket: 'my-exports', project_id: 'my-project' },
      bigquery: { project_id: 'my-project' },
      sftp: { host: 'sftp.example.com', username: 'u', password: 'x', directory: '/upload' },
      exports: { daily: { query: 'SELECT 1' } },
    }),
  );
  const r = loaded(['--require', 'tsx/cjs', workerStart, config]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+ activities/);
  assert.ok(r.has('@temporalio/worker') && r.has('ssh2'), 'the worker and the export family loaded');
  const family = ['openpgp', 'box-typescript-sdk-gen', 'better-sqlite3', 'hyparquet', 'hyparquet-writer', 'pg'].filter(r.has);
  assert.deepEqual(
    family,
    [],
    `the worker's start loaded ${family.join(', ')}: import the module that needs it through lazyFunctions (src/activities/lazy.ts), as src/export/transfer-files.ts imports pgp/delivery`,
  );
});

test('the check sees a heavy module when one is loaded (the same --help with pg preloaded)', () => {
  const r = loaded([bin, '--help'], {}, ['pg']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.heavy, ['pg']);
});
