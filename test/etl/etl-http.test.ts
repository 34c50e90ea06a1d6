/**
 * The ETL family's HTTP routes on a real server (ephemeral port) with a real worker, the users API
 * and the stack's SFTP: run a pipeline (held and not held), list runs, read the dead letters,
 * replay them; bad input answers 400/404/405 naming the field; the bearer token guards the routes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configSchema, type Config } from '../../src/config';
import { createApi } from '../../src/http/server';
import { startUsersApi, type UsersApi } from '../../src/etl/users-api-server';
import { expectedOutcome } from '../../src/etl/users-data';
import { withWorker } from '../helpers/export';
import { etlConfig, etlConfigInput, tmpDir, uniqueId } from './helpers';

type Call = (method: string, path: string, body?: unknown, token?: string) => Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;

async function withApi(config: Config, fn: (call: Call) => Promise<void>): Promise<void> {
  await withWorker(config, async (client) => {
    const server = createApi({ config, client }).server();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fn(async (method, path, body, token) => {
        const res = await fetch(base + path, {
          method,
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
}

describe('ETL over HTTP', () => {
  const dir = tmpDir('etl-http');
  let api: UsersApi;
  before(async () => {
    api = await startUsersApi({ total: 1000 });
  });
  after(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('run (held and not held), runs, dlq and replay-dlq answer like the CLI', async () => {
    const name = uniqueId('http').replace(/-/g, '_');
    const config = etlConfig({ name, url: api.url, dir });
    const want = expectedOutcome(1000);
    await withApi(config, async (call) => {
      const held = await call('POST', `/etl/pipelines/${name}/runs?wait=true`, { run: '20250105_030000' });
      assert.equal(held.status, 200, JSON.stringify(held.body));
      assert.deepEqual(held.body.counts, { raw: 1000, processed: want.valid, dead_lettered: want.invalid });
      assert.deepEqual(held.body.reasons, want.byRule);
      assert.equal(held.body.workflow_id, `etl-${name}-20250105_030000`);

      const started = await call('POST', `/etl/pipelines/${name}/runs`, { run: '20250106_030000' });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.equal(started.body.workflow_id, `etl-${name}-20250106_030000`);
      assert.equal(started.headers.get('location'), `/runs/etl-${name}-20250106_030000`);
      let run = await call('GET', String(started.body.status_url));
      for (let i = 0; i < 300 && run.body.status === 'RUNNING'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        run = await call('GET', String(started.body.status_url));
      }
      assert.equal(run.body.status, 'COMPLETED', JSON.stringify(run.body));
      assert.equal((run.body.result as { counts: { raw: number } }).counts.raw, 1000);

      // the list comes from Temporal's visibility store, which may lag a moment behind
      let ids: string[] = [];
      for (let i = 0; i < 50 && ids.length < 2; i++) {
        const runs = await call('GET', `/etl/runs?pipeline=${name}&limit=10`);
        assert.equal(runs.status, 200);
        ids = (runs.body.runs as { workflow_id: string }[]).map((r) => r.workflow_id);
        if (ids.length < 2) await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual([...ids].sort(), [`etl-${name}-20250105_030000`, `etl-${name}-20250106_030000`]);

      const dlq = await call('GET', `/etl/pipelines/${name}/dlq?run=20250105_030000&limit=1000`);
      assert.equal(dlq.status, 200);
      assert.equal(dlq.body.count, want.invalid);
      assert.deepEqual(dlq.body.reasons, want.byRule);
      for (const d of dlq.body.dead_letters as { rule: string; error_reason: string; record: unknown; run_id: string }[]) {
        assert.equal(d.run_id, '20250105_030000');
        assert.ok(d.error_reason.startsWith(`${d.rule.split(':')[0]}: `), d.error_reason);
        assert.equal(typeof d.record, 'object');
      }
      const capped = await call('GET', `/etl/pipelines/${name}/dlq?run=20250105_030000&limit=3`);
      assert.equal((capped.body.dead_letters as unknown[]).length, 3);
      assert.equal(capped.body.truncated, true);

      const replay = await call('POST', `/etl/pipelines/${name}/replay-dlq`, { run: '20250105_030000' });
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      assert.equal(replay.body.replayed, want.invalid);
      assert.equal(replay.body.recovered, 0, 'nothing was fixed');
      const unknownRun = await call('POST', `/etl/pipelines/${name}/replay-dlq`, { run: '20240101_000000' });
      assert.equal(unknownRun.status, 502);
      assert.equal(unknownRun.body.error, 'UnknownRun');
    });
  });

  it('bad input: 404 unknown pipeline, 400 naming the field, 405 with Allow; the bearer token guards the routes', async () => {
    const name = uniqueId('http_bad').replace(/-/g, '_');
    const token = 'etl-http-token-0123456789';
    const config = configSchema.parse({ ...etlConfigInput({ name, url: api.url, dir }), http: { auth_token: token } });
    await withApi(config, async (call) => {
      const t = (m: string, p: string, b?: unknown) => call(m, p, b, token);
      assert.equal((await call('GET', '/etl/runs')).status, 401, 'no token');
      const unknown = await t('POST', '/etl/pipelines/nope/runs', {});
      assert.equal(unknown.status, 404);
      assert.match(String(unknown.body.message), new RegExp(`path/pipeline: no pipeline "nope".*${name}`));
      assert.equal((await t('GET', '/etl/pipelines/nope/dlq')).status, 404);
      assert.equal((await t('GET', '/etl/runs?pipeline=nope')).status, 404);
      const cases: [string, string, unknown, RegExp][] = [
        ['POST', `/etl/pipelines/${name}/runs`, { run: '2025-01-05' }, /body\/run: must be a run id/],
        ['POST', `/etl/pipelines/${name}/runs`, { run: '20250230_030000' }, /body\/run/],
        ['POST', `/etl/pipelines/${name}/runs`, { stamp: '20250105_030000' }, /stamp/],
        ['POST', `/etl/pipelines/${name}/runs?wait=maybe`, {}, /query\/wait/],
        ['POST', `/etl/pipelines/${name}/replay-dlq`, {}, /body\/run/],
        ['GET', `/etl/pipelines/${name}/dlq?run=yesterday`, undefined, /query\/run/],
        ['GET', `/etl/pipelines/${name}/dlq?limit=0`, undefined, /query\/limit/],
        ['GET', '/etl/runs?limit=x', undefined, /query\/limit/],
        ['GET', '/etl/pipelines/%E0%A4%A/dlq', undefined, /path\/pipeline: malformed/],
      ];
      for (const [m, p, b, re] of cases) {
        const r = await t(m, p, b);
        assert.equal(r.status, 400, `${m} ${p} ${JSON.stringify(b)} → ${JSON.stringify(r.body)}`);
        assert.match(String(r.body.message), re);
      }
      const wrong = await t('GET', `/etl/pipelines/${name}/runs`);
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.get('allow'), 'POST');
      assert.equal((await t('GET', '/etl/nothing')).status, 404);
      const doc = await call('GET', '/openapi.json');
      for (const p of ['/etl/pipelines/{pipeline}/runs', '/etl/runs', '/etl/pipelines/{pipeline}/dlq', '/etl/pipelines/{pipeline}/replay-dlq']) assert.ok(p in (doc.body.paths as object), p);
    });
  });
});
