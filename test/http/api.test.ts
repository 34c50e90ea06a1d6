import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../src/config';
import { createApi } from '../../src/http/server';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, storage, withWorker } from '../helpers/export';
import { stack } from '../helpers/stack';

const info = stack();

/** A real HTTP server on an ephemeral port, a worker, and `fn` with a fetch against it. */
async function withApi(config: Config, fn: (call: (method: string, path: string, body?: unknown, token?: string) => Promise<{ status: number; body: Record<string, unknown> }>) => Promise<void>) {
  await withWorker(config, async (client) => {
    const server = createApi({ config, client }).server();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fn(async (method, path, body, token) => {
        const res = await fetch(base + path, {
          method,
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
}

test('HTTP API: health, transfer, verify, start a run and read it, OpenAPI', async () => {
  const name = exportName('http');
  const config = testConfig({ exports: { [name]: { query: `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\``, file_prefix: 'H' } } });
  const bucket = storage().bucket(info.gcs.bucket);
  await bucket.file(`${name}/20250108/H_20250108-000000000000.csv`).save(Buffer.from('a,b\n1,2\n'), { resumable: false });
  await bucket.file(`${name}/20250108/H_20250108-000000000001.csv`).save(Buffer.from('a,b\n3,4\n'), { resumable: false });
  const gcsPath = `gs://${info.gcs.bucket}/${name}/20250108/`;
  await withApi(config, async (call) => {
    const health = await call('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'healthy');
    assert.match(String(health.body.timestamp), /^\d{4}-\d{2}-\d{2}T/);

    const transfer = await call('POST', '/transfer', { export_name: name, gcs_path: gcsPath });
    assert.equal(transfer.status, 200, JSON.stringify(transfer.body));
    assert.equal(transfer.body.status, 'success');
    assert.equal(transfer.body.files_transferred, 2);
    assert.deepEqual(transfer.body.files, ['H_20250108-000000000000.csv', 'H_20250108-000000000001.csv']);
    assert.equal(transfer.body.workflow_id, `transfer-${name}-2025-01-08`);
    for (const k of ['total_mb', 'destination', 'total_time_seconds', 'gcs_path']) assert.ok(k in transfer.body, k);
    assert.deepEqual(listLocal(config.sftp!.directory), ['H_20250108-000000000000.csv', 'H_20250108-000000000001.csv']);

    const verify = await call('POST', '/verify', { export_name: name, gcs_path: gcsPath });
    assert.equal(verify.status, 200);
    assert.equal(verify.body.in_sync, true);
    assert.deepEqual(verify.body.missing_on_sftp, []);
    assert.deepEqual(verify.body.extra_on_sftp, []);

    const started = await call('POST', `/exports/${name}/runs`, { date: DEMO_DATE });
    assert.equal(started.status, 202);
    assert.equal(started.body.workflow_id, `export-${name}-${DEMO_DATE}`);
    let run = await call('GET', `/runs/${started.body.workflow_id}`);
    for (let i = 0; i < 100 && run.body.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      run = await call('GET', `/runs/${started.body.workflow_id}`);
    }
    assert.equal(run.body.status, 'COMPLETED');
    assert.equal((run.body.result as { verify: { in_sync: boolean } }).verify.in_sync, true);

    const doc = await call('GET', '/openapi.json');
    assert.equal(doc.body.openapi, '3.0.3');
    // the export family's routes (the other families add theirs beside them)
    const paths = Object.keys(doc.body.paths as object);
    for (const p of ['/exports/{name}/runs', '/health', '/openapi.json', '/runs/{workflowId}', '/transfer', '/verify']) assert.ok(paths.includes(p), p);
  });
});

test('HTTP API: malformed bodies → 400 naming the field, unknown export → 404, unknown run → 404', async () => {
  const name = exportName('http400');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1' } } });
  await withApi(config, async (call) => {
    const cases: [unknown, RegExp][] = [
      [{ gcs_path: `gs://${info.gcs.bucket}/${name}/20250108/` }, /export_name/],
      [{ export_name: 42, gcs_path: 'gs://b/x/' }, /export_name/],
      [{ export_name: name, gcs_path: '/tmp/x' }, /gcs_path/],
      [{ export_name: name, gcs_path: `gs://other-bucket/${name}/20250108/` }, /gcs_path: must be under/],
      [{ export_name: name, gcs_path: `gs://${info.gcs.bucket}/${name}/20250108/`, date: '2025-02-30' }, /date/],
      [{ export_name: name, gcs_path: `gs://${info.gcs.bucket}/${name}/x/` }, /date: required/],
      [{ export_name: name, gcs_path: `gs://${info.gcs.bucket}/${name}/20250108/`, extra: 1 }, /extra/],
      ['{not json', /not valid JSON/],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', '/transfer', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(String(r.body.message), field, JSON.stringify(r.body));
    }
    const badDate = await call('POST', `/exports/${name}/runs`, { date: '2025-13-01' });
    assert.equal(badDate.status, 400);
    assert.match(String(badDate.body.message), /date/);
    const unknown = await call('POST', '/transfer', { export_name: 'nope', gcs_path: `gs://${info.gcs.bucket}/nope/20250108/` });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'unknown_export');
    assert.match(String(unknown.body.message), new RegExp(name), 'lists the known exports');
    assert.equal((await call('POST', '/exports/nope/runs', {})).status, 404);
    assert.equal((await call('GET', '/runs/export-nope-2025-01-01')).status, 404);
  });
});

test('HTTP API: with http.auth_token every route but /health and /openapi.json needs the bearer token', async () => {
  const name = exportName('httpauth');
  const config = testConfig({ exports: { [name]: { query: 'SELECT 1' } }, http: { auth_token: 'token-for-tests-0123456789' } });
  await withApi(config, async (call) => {
    assert.equal((await call('GET', '/health')).status, 200);
    assert.equal((await call('GET', '/openapi.json')).status, 200);
    const noToken = await call('POST', `/exports/${name}/runs`, {});
    assert.equal(noToken.status, 401);
    assert.equal((await call('GET', '/runs/x', undefined, 'wrong-token')).status, 401);
    assert.equal((await call('GET', '/runs/export-nope-2025-01-01', undefined, 'token-for-tests-0123456789')).status, 404, 'the right token passes');
  });
});
