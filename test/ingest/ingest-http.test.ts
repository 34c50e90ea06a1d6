import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../src/config';
import { createApi } from '../../src/http/server';
import { openApiDocument } from '../../src/http/openapi';
import { withWorker } from '../helpers/export';
import { closePostgresPools } from '../../src/postgres/client';
import { ingestConfig, LOCATIONS_CSV, migrated, tenantId, usersCsv, writeSftpFile } from './helpers';

type Call = (method: string, path: string, opts?: { body?: unknown; tenant?: string; token?: string }) => Promise<{ status: number; body: Record<string, unknown> }>;

const BASE = '/data/api/v1';
const TOKEN_A = 'token-for-tenant-a-0123456789';
const TOKEN_ADMIN = 'admin-token-0123456789abcdef';

async function withApi(config: Config, fn: (call: Call) => Promise<void>) {
  await withWorker(config, async (client) => {
    const server = createApi({ config, client }).server();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fn(async (method, path, opts = {}) => {
        const res = await fetch(base + path, {
          method,
          headers: {
            'content-type': 'application/json',
            ...(opts.tenant !== undefined ? { 'x-tenant-id': opts.tenant } : {}),
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          },
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
}

before(async () => migrated(ingestConfig(tenantId())));
after(closePostgresPools);

test('HTTP /data/api/v1: start, list, status, cancel, availability; bad input names the field; a token limited to tenant A gets 403 for B and never sees B', async () => {
  const a = tenantId('a');
  const b = tenantId('b');
  const config = ingestConfig(a, {
    eventTypes: ['purchase', 'no_search_results'],
    others: { [b]: { eventTypes: ['purchase'] } },
    ingest: { api_tokens: { partner_a: { token: TOKEN_A, tenants: [a] } } },
    extra: { http: { auth_token: TOKEN_ADMIN } },
  });
  writeSftpFile(`${config.folder}/users_20250131.csv`, usersCsv([['u1', 'a@example.com', 'Acme']]));
  writeSftpFile(`${config.folder}/locations_20250131.csv`, LOCATIONS_CSV);
  const asA = { token: TOKEN_A, tenant: a };
  await withApi(config, async (call) => {
    // start + wait + status
    const started = await call('POST', `${BASE}/ingest/start`, { ...asA, body: { start_date: '2025-01-01', end_date: '2025-01-03', data_types: ['events', 'users', 'locations'] } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.status, 'queued');
    const jobId = String(started.body.job_id);
    assert.match(jobId, /^job_\d{8}_[0-9a-f]{6}$/);
    assert.match(String(started.body.url), new RegExp(`/workflows/${jobId}/`));
    let job: Record<string, unknown> = {};
    for (let i = 0; i < 600; i++) {
      job = (await call('GET', `${BASE}/ingest/${jobId}`, asA)).body;
      if (job.status === 'completed' || job.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(job.records_processed, { purchase: 90, no_search_results: 120, users_processed: 1, locations_processed: 3 });

    // a job of B, started with the admin token
    const startedB = await call('POST', `${BASE}/ingest/start`, { token: TOKEN_ADMIN, tenant: b, body: { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['events'] } });
    assert.equal(startedB.status, 202, JSON.stringify(startedB.body));
    const jobB = String(startedB.body.job_id);

    // list: A's jobs only, newest first, paged, filtered
    const list = await call('GET', `${BASE}/ingest/jobs?status=completed&limit=10`, asA);
    assert.equal(list.status, 200);
    const ids = (list.body.jobs as { job_id: string; tenant_id: string }[]).map((j) => j.job_id);
    assert.deepEqual(ids, [jobId]);
    assert.equal(list.body.total, 1);
    const all = await call('GET', `${BASE}/ingest/jobs`, asA);
    assert.ok(!(all.body.jobs as { job_id: string }[]).some((j) => j.job_id === jobB), "B's jobs never appear in A's list");

    // tenant isolation
    const forbidden = await call('GET', `${BASE}/ingest/jobs`, { token: TOKEN_A, tenant: b });
    assert.equal(forbidden.status, 403);
    const forbiddenUnknown = await call('GET', `${BASE}/ingest/jobs`, { token: TOKEN_A, tenant: 'no_such_tenant' });
    assert.equal(forbiddenUnknown.status, 403, 'an unknown tenant answers like a forbidden one: its existence is not revealed');
    assert.deepEqual(forbiddenUnknown.body, forbidden.body);
    assert.equal((await call('GET', `${BASE}/ingest/${jobB}`, asA)).status, 404, "B's job is unknown to A");
    assert.equal((await call('GET', `${BASE}/ingest/jobs`, { token: TOKEN_ADMIN, tenant: 'no_such_tenant' })).status, 404, 'the admin token learns that a tenant does not exist');
    assert.equal((await call('GET', `${BASE}/ingest/jobs`, { tenant: a })).status, 401);
    assert.equal((await call('GET', `${BASE}/ingest/jobs`, { token: 'wrong-token-0123456789', tenant: a })).status, 401);

    // bad input, each the only thing wrong
    const bad = async (body: unknown, field: RegExp, status = 400, opts = asA) => {
      const r = await call('POST', `${BASE}/ingest/start`, { ...opts, body });
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(String(r.body.message), field);
    };
    await bad({ start_date: '2025-13-01', end_date: '2025-01-03' }, /^body\/start_date: /);
    await bad({ start_date: '2025-01-01', end_date: 'soon' }, /^body\/end_date: /);
    await bad({ start_date: '2025-01-05', end_date: '2025-01-03' }, /^body\/end_date: 2025-01-03 is before start_date 2025-01-05/);
    await bad({ start_date: '2025-01-01', end_date: '2025-01-03', data_types: ['events', 'clicks'] }, /^body\/data_types: unknown type "clicks"/);
    await bad({ start_date: '2025-01-01', end_date: '2025-01-03', event_types: ['scroll'] }, /^body\/event_types: unknown type "scroll"/);
    await bad({ end_date: '2025-01-03' }, /^body\/start_date: /);
    await bad({ start_date: '2025-01-01', end_date: '2025-01-03', extra: 1 }, /extra/);
    await bad({ start_date: '2025-01-01', end_date: '2025-01-03' }, /^header\/X-Tenant-Id: required/, 400, { token: TOKEN_A, tenant: undefined } as never);
    await bad({ start_date: '2025-01-01', end_date: '2025-01-03' }, /^header\/X-Tenant-Id: unknown tenant "nobody"/, 404, { token: TOKEN_ADMIN, tenant: 'nobody' });
    const badStatus = await call('GET', `${BASE}/ingest/jobs?status=done`, asA);
    assert.equal(badStatus.status, 400);
    assert.match(String(badStatus.body.message), /^query\/status: /);
    assert.equal((await call('DELETE', `${BASE}/ingest/jobs`, asA)).status, 405);

    // availability from PostgreSQL
    const avail = await call('GET', `${BASE}/availability`, asA);
    assert.equal(avail.status, 200);
    const purchase = (avail.body.event_types as { event_type: string; earliest_date: string; latest_date: string; total_rows: number }[]).find((r) => r.event_type === 'purchase');
    assert.deepEqual(purchase && [purchase.earliest_date, purchase.latest_date, purchase.total_rows], ['2025-01-01', '2025-01-03', 90]);
    const breakdown = await call('GET', `${BASE}/availability/breakdown?start_date=2025-01-02&end_date=2025-01-03&event_types=purchase`, asA);
    assert.equal(breakdown.status, 200);
    assert.deepEqual(breakdown.body.dates, [
      { date: '2025-01-02', counts: { purchase: 30 }, total: 30 },
      { date: '2025-01-03', counts: { purchase: 30 }, total: 30 },
    ]);
    assert.equal((await call('GET', `${BASE}/availability?event_types=scroll`, asA)).status, 400);

    // cancel: a long job of A
    const long = await call('POST', `${BASE}/ingest/start`, { ...asA, body: { start_date: '2025-01-01', end_date: '2025-01-31', data_types: ['events'], event_types: ['page_view'] } });
    const longId = String(long.body.job_id);
    await new Promise((r) => setTimeout(r, 1500));
    const cancelled = await call('POST', `${BASE}/ingest/${longId}/cancel`, asA);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, 'failed');
    assert.equal(cancelled.body.error_message, 'cancelled');
    assert.equal((await call('POST', `${BASE}/ingest/${longId}/cancel`, asA)).status, 409);
    assert.equal((await call('POST', `${BASE}/ingest/${jobB}/cancel`, asA)).status, 404);
  });
  assert.ok(`${BASE}/ingest/start` in openApiDocument.paths, 'the routes are in the OpenAPI document');
});
