/**
 * The package as a user gets it: `npm pack` (prepack = npm run build), installed into an empty
 * folder from the tarball and the registry only (nothing linked to this checkout), then run from
 * there. The same folder is the "tiny separate package" of the client contract test.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-pack-'));
const consumer = path.join(work, 'consumer');
let tarball = '';

/** the environment without npm's per-run variables of the `npm test` that may have started us */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  delete env.BQSFTP_RUN;
  return { ...env, ...extra };
}

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 900_000, env: cleanEnv(), ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

before(() => {
  const packed = sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
  assert.equal(packed.status, 0, `npm pack failed:\n${packed.stderr}`);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info[0].filename);
  const files = info[0].files.map((f) => f.path);
  assert.ok(files.includes('dist/cli/main.js') && files.includes('dist/client.d.ts') && files.includes('bin/bq-sftp.js'), 'the package holds the compiled code');
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests in the package');
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'bq-sftp-consumer', version: '1.0.0', private: true }, null, 2));
  // Install scripts only build native add-ons (better-sqlite3, ssh2's optional cpu-features): on a
  // machine that cannot download their prebuilt binaries they compile for minutes, and neither is
  // loaded by what this file runs. BQSFTP_PACK_INSTALL_SCRIPTS=1 runs them too.
  const scripts = process.env.BQSFTP_PACK_INSTALL_SCRIPTS === '1' ? [] : ['--ignore-scripts'];
  const installed = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...scripts, tarball], { cwd: consumer });
  assert.equal(installed.status, 0, `npm install of the tarball failed:\n${installed.stderr}`);
});

test('the installed package runs compiled code: npx bq-sftp --version prints its version and the Temporal SDK version', () => {
  const installed = path.join(consumer, 'node_modules', 'bq-sftp');
  assert.ok(fs.existsSync(path.join(installed, 'dist', 'cli', 'main.js')));
  assert.ok(!fs.existsSync(path.join(installed, 'src')));
  assert.ok(!fs.existsSync(path.join(consumer, 'node_modules', 'tsx')), 'tsx is not installed with the package (dev dependency)');
  const sdk = (JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', '@temporalio', 'worker', 'package.json'), 'utf8')) as { version: string }).version;
  const v = sh('npx', ['--no-install', 'bq-sftp', '--version'], { cwd: consumer });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim().split('\n')[0], `bq-sftp ${pkg.version} (Temporal TypeScript SDK ${sdk}, Node.js ${process.versions.node})`);
});

test('the installed package: bq-sftp config check accepts a valid config and refuses an invalid one (exit 2, field named)', () => {
  const good = {
    temporal: { address: '127.0.0.1:7233' },
    gcs: { bucket: 'my-exports', project_id: 'my-project' },
    bigquery: { project_id: 'my-project' },
    sftp: { host: 'sftp.example.com', username: 'u', password: { env: 'PACK_TEST_SFTP_PASSWORD' }, directory: '/upload' },
    exports: { daily: { query: 'SELECT 1' } },
  };
  fs.writeFileSync(path.join(consumer, 'good.json'), JSON.stringify(good));
  const ok = spawnSync('npx', ['--no-install', 'bq-sftp', 'config', 'check', '-c', 'good.json'], {
    cwd: consumer,
    encoding: 'utf8',
    env: cleanEnv({ PACK_TEST_SFTP_PASSWORD: 'x' }),
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^config OK: 1 export \(daily\)/);
  fs.writeFileSync(path.join(consumer, 'bad.json'), JSON.stringify({ ...good, temporal: { address: 'no-port' } }));
  const bad = sh('npx', ['--no-install', 'bq-sftp', 'config', 'check', '-c', 'bad.json'], { cwd: consumer, env: cleanEnv({ PACK_TEST_SFTP_PASSWORD: 'x' }) });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /temporal\.address: must be host:port/);
});
