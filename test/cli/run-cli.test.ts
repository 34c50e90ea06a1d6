import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, listLocal } from '../helpers/export';
import { stack } from '../helpers/stack';

const info = stack();
const bin = path.join(repoRoot, 'bin/bq-sftp.js');
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, BQSFTP_LOG_LEVEL: 'WARN' } });

test('bq-sftp worker + run/status/runs/retry through the real binary; bad input gets one clear line', async () => {
  const name = exportName('cli');
  const config = testConfig({
    exports: { [name]: { query: `SELECT id, email FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`, file_prefix: 'Customer' } },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-cli-'));
  const cfgPath = path.join(dir, 'config.json');
  fs.writeFileSync(cfgPath, JSON.stringify(config));
  const worker = spawn(process.execPath, [bin, 'worker', '-c', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BQSFTP_LOG_LEVEL: 'WARN' } });
  let workerOut = '';
  worker.stdout.on('data', (d) => (workerOut += d));
  worker.stderr.on('data', (d) => (workerOut += d));
  let workerExit: number | null | undefined;
  try {
    const run = cli(['run', name, '--date', DEMO_DATE, '--json', '-c', cfgPath]);
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.status, 'succeeded');
    assert.deepEqual(out.result.transfer.files, ['Customer_20250108-000000000000.csv']);
    assert.match(out.url, new RegExp(`/namespaces/default/workflows/export-${name}-${DEMO_DATE}/`));
    assert.deepEqual(listLocal(config.sftp!.directory), ['Customer_20250108-000000000000.csv']);

    const status = cli(['status', name, '--date', DEMO_DATE, '--json', '-c', cfgPath]);
    assert.equal(status.status, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).status, 'COMPLETED');

    const retry = cli(['retry', name, '--date', DEMO_DATE, '-c', cfgPath]);
    assert.equal(retry.status, 1);
    assert.match(retry.stderr, /succeeded; use --force/);

    const none = cli(['status', name, '--date', '2025-01-01', '--json', '-c', cfgPath]);
    assert.equal(none.status, 3);

    const unknown = cli(['run', 'no_such_export', '--date', DEMO_DATE, '-c', cfgPath]);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /no_such_export/);
    assert.match(unknown.stderr, new RegExp(name), 'the error lists the known exports');

    const badDate = cli(['run', name, '--date', '2025-02-30', '-c', cfgPath]);
    assert.notEqual(badDate.status, 0);
    assert.match(badDate.stderr, /2025-02-30/);
    assert.match(badDate.stderr, /YYYY-MM-DD/);
  } finally {
    // no assertion here: it would replace the original failure of the block above
    if (worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise<number | null>((r) => worker.once('exit', (c) => r(c)));
      worker.kill('SIGTERM');
      workerExit = await exited;
    } else workerExit = worker.exitCode;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(workerExit, 0, `the worker shuts down gracefully on SIGTERM:\n${workerOut}`);
});

test('bq-sftp config check validates without contacting anything; config show redacts secrets', () => {
  const config = testConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-cfg-'));
  try {
    const good = path.join(dir, 'good.json');
    fs.writeFileSync(good, JSON.stringify({ ...config, temporal: { ...config.temporal, address: '127.0.0.1:1' } }));
    const ok = cli(['config', 'check', '--json', '-c', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).exports, Object.keys(config.exports));

    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ ...config, transfer: { concurrency: 0 } }));
    const refused = cli(['config', 'check', '-c', bad]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /transfer\.concurrency: must be a whole number between 1 and 64/);

    const shown = cli(['config', 'show', '-c', good]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).sftp.password, '***');
    assert.ok(!shown.stdout.includes(config.sftp!.password!), 'the password is not printed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
