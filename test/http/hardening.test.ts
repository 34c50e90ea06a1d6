// Issue 19 item 11: serve refuses a non-loopback address without a token, 500s do not echo
// internal text, /health shows no config path, POST /transfer|/verify?wait=false answers 202.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { createApi } from '../../src/http/server';
import { isLoopback } from '../../src/cli/serve';
import { repoRoot } from '../../src/stack/layout';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, storage, withWorker } from '../helpers/export';
import { freePort } from '../helpers/ports';
import { stack } from '../helpers/stack';

const info = stack();
const bin = path.join(repoRoot, 'bin/bq-sftp.js');

test('POST /transfer?wait=false answers 202 with the run and a Location to poll; the default still waits; wait=maybe is a 400', async () => {
  const name = exportName('nowait');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1', file_prefix: 'W' } } });
  await storage().bucket(info.gcs.bucket).file(`${name}/20250108/W_20250108-000000000000.csv`).save(Buffer.from('a\n1\n'), { resumable: false });
  const gcsPath = `gs://${info.gcs.bucket}/${name}/20250108/`;
  await withWorker(config, async (client) => {
    const server = createApi({ config, client }).server();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (p: string, body: unknown) => fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    try {
      const res = await post('/transfer?wait=false', { export_name: name, gcs_path: gcsPath });
      assert.equal(res.status, 202);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.workflow_id, `transfer-${name}-2025-01-08`);
      assert.ok(body.run_id);
      assert.equal(res.headers.get('location'), `/runs/transfer-${name}-2025-01-08`);
      assert.equal(body.status_url, res.headers.get('location'));
      let run = (await (await fetch(base + res.headers.get('location')!)).json()) as { status: string; result?: { files: string[] } };
      for (let i = 0; i < 150 && run.status === 'RUNNING'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        run = (await (await fetch(base + res.headers.get('location')!)).json()) as typeof run;
      }
      assert.equal(run.status, 'COMPLETED');
      assert.deepEqual(run.result?.files, ['W_20250108-000000000000.csv']);
      assert.deepEqual(listLocal(config.sftp!.directory), ['W_20250108-000000000000.csv']);

      const verifyAsync = await post('/verify?wait=false', { export_name: name, gcs_path: gcsPath });
      assert.equal(verifyAsync.status, 202);
      assert.equal(verifyAsync.headers.get('location'), `/runs/verify-${name}-2025-01-08`);

      const sync = await post('/verify', { export_name: name, gcs_path: gcsPath });
      assert.equal(sync.status, 200, 'without ?wait the seed\'s synchronous answer');
      assert.equal(((await sync.json()) as { in_sync: boolean }).in_sync, true);

      const bad = await post('/transfer?wait=maybe', { export_name: name, gcs_path: gcsPath });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { message: string }).message, /query\/wait: must be true or false/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

test('a 500 answer does not echo the internal error text; /health shows no config path', async () => {
  const name = exportName('http500');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1' } } });
  const internal = 'connect ECONNREFUSED 10.1.2.3:7233 while reading /etc/bq-sftp/secret-config.json';
  const client = {
    workflow: {
      start: async () => {
        throw new Error(internal);
      },
    },
    connection: { workflowService: { getSystemInfo: async () => ({}) } },
  } as unknown as Client;
  const api = createApi({ config, client, configPath: '/etc/bq-sftp/secret-config.json' });
  const original = process.stderr.write.bind(process.stderr);
  let logged = '';
  process.stderr.write = ((chunk: string) => ((logged += chunk), true)) as typeof process.stderr.write;
  let r;
  try {
    r = await api.handle('POST', '/transfer', { 'content-type': 'application/json' }, JSON.stringify({ export_name: name, gcs_path: `gs://${info.gcs.bucket}/${name}/20250108/` }));
  } finally {
    process.stderr.write = original;
  }
  assert.equal(r.status, 500);
  const text = JSON.stringify(r.body);
  assert.ok(!text.includes('10.1.2.3') && !text.includes('secret-config'), `the answer holds no internal text: ${text}`);
  const id = /internal error ([0-9a-f-]{36})/.exec(String((r.body as { message: string }).message))?.[1];
  assert.ok(id, 'the answer carries an id to quote');
  assert.ok(logged.includes(id!) && logged.includes(internal), 'the server log has the details under that id');

  const health = await api.handle('GET', '/health', {}, '');
  assert.equal(health.status, 200);
  assert.ok(!JSON.stringify(health.body).includes('secret-config'), 'no config path');
  assert.ok(!('config_path' in (health.body as object)));
});

test('isLoopback: 127.x, ::1 and localhost only', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
});

test('serve on a non-loopback --host without http.auth_token exits 2; with --insecure-no-auth or a token it starts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-serve-'));
  try {
    const config = testConfig();
    const open = path.join(dir, 'open.json');
    fs.writeFileSync(open, JSON.stringify(config));
    const refused = spawnSync(process.execPath, [bin, 'serve', '--host', '0.0.0.0', '--port', '0', '-c', open], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /refusing to serve on 0\.0\.0\.0 without http\.auth_token/);
    assert.match(refused.stderr, /--insecure-no-auth/);

    const tokened = path.join(dir, 'token.json');
    fs.writeFileSync(tokened, JSON.stringify({ ...config, http: { ...config.http, auth_token: 'serve-test-token-0123456789' } }));
    for (const args of [['-c', open, '--insecure-no-auth'], ['-c', tokened]]) {
      const port = await freePort();
      const child = spawn(process.execPath, [bin, 'serve', '--host', '0.0.0.0', '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      try {
        for (let i = 0; i < 300 && !out.includes('bq-sftp API on'); i++) await new Promise((r) => setTimeout(r, 100));
        assert.match(out, /bq-sftp API on http:\/\/0\.0\.0\.0:/, out);
      } finally {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
