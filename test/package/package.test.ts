/**
 * The package as a user gets it: `npm pack` (prepack = npm run build), installed into an empty
 * folder from the tarball and the registry only (nothing linked to this checkout), then run from
 * there. The same folder is the "tiny separate package" of the client contract test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, withWorker } from '../helpers/export';
import { stack } from '../helpers/stack';

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

after(() => fs.rmSync(work, { recursive: true, force: true }));

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

const CONSUMER_TS = `import { Client, Connection } from '@temporalio/client';
import { getExportProgress, startExport, WORKFLOW_TYPES, type ExportResult } from 'bq-sftp/client';

async function main(): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  const handle = await startExport(client, { exportName: process.env.EXPORT_NAME!, date: process.env.EXPORT_DATE!, taskQueue: process.env.TASK_QUEUE });
  const result: ExportResult = await handle.result();
  const files: string[] = result.transfer.files;
  const bytes: number = result.transfer.total_bytes;
  // @ts-expect-error the result is typed, not any: there is no such field
  void result.transfer.no_such_field;
  const progress = await getExportProgress(handle);
  console.log(JSON.stringify({ workflow_type: WORKFLOW_TYPES.export, workflow_id: result.workflow_id, files, bytes, in_sync: result.verify.in_sync, step: progress.step }));
  await connection.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;

test('a tiny separate package that depends on the tarball starts an export through bq-sftp/client and gets the typed result', async () => {
  const info = stack();
  const name = exportName('client-pkg');
  const config = testConfig({
    exports: { [name]: { query: `SELECT id, email FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`, file_prefix: 'Customer' } },
  });
  fs.writeFileSync(path.join(consumer, 'start-export.ts'), CONSUMER_TS);
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--strict', '--target', 'es2022', '--skipLibCheck', '--typeRoots', path.join(root, 'node_modules', '@types'), '--types', 'node'];
  // modern resolution (package.json "exports") and the classic one (typesVersions) both find the types
  const classic = sh(process.execPath, [tsc, ...common, '--module', 'commonjs', '--moduleResolution', 'node', '--noEmit', 'start-export.ts'], { cwd: consumer });
  assert.equal(classic.status, 0, `tsc (moduleResolution node):\n${classic.stdout}${classic.stderr}`);
  const built = sh(process.execPath, [tsc, ...common, '--module', 'node16', '--moduleResolution', 'node16', 'start-export.ts'], { cwd: consumer });
  assert.equal(built.status, 0, `tsc (node16):\n${built.stdout}${built.stderr}`);
  const out = await withWorker(config, async () => {
    const child = spawn(process.execPath, ['start-export.js'], {
      cwd: consumer,
      env: cleanEnv({ TEMPORAL_ADDRESS: config.temporal.address, EXPORT_NAME: name, EXPORT_DATE: DEMO_DATE, TASK_QUEUE: config.temporal.task_queue }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, stderr);
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { workflow_type: string; workflow_id: string; files: string[]; bytes: number; in_sync: boolean; step: string };
  });
  assert.deepEqual(out.files, ['Customer_20250108-000000000000.csv']);
  assert.deepEqual(listLocal(config.sftp!.directory), out.files);
  assert.ok(out.bytes > 0);
  assert.equal(out.workflow_type, 'ExportWorkflow');
  assert.equal(out.workflow_id, `export-${name}-${DEMO_DATE}`);
  assert.equal(out.in_sync, true);
  assert.equal(out.step, 'done');
});
