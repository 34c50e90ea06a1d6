/**
 * Resume and idempotency: a source that answers 500 on page 37 twice (with one try per attempt,
 * so each 500 fails the extract attempt and Temporal retries it) → the run completes and pages
 * before 37 were fetched once; the same run started twice is one run; a rerun replaces its rows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { openSqlite } from '../../src/etl/db';
import { startEtlRun } from '../../src/etl/starter';
import { startUsersApi, type UsersApi } from '../../src/etl/users-api-server';
import { expectedOutcome } from '../../src/etl/users-data';
import { withWorker } from '../helpers/export';
import { etlConfig, tmpDir, uniqueId } from './helpers';

describe('EtlWorkflow resume and idempotency', () => {
  const dir = tmpDir('etl-resume');
  let api: UsersApi;
  before(async () => {
    api = await startUsersApi({ total: 5000 });
  });
  after(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('500 on page 37 twice: the run completes, resumed at page 37, pages before it fetched once', async () => {
    api.setFaults([{ page: 37, kind: 'status', status: 500, times: 2 }]);
    api.log.length = 0;
    const name = uniqueId('resume');
    const config = etlConfig({ name, url: api.url, dir, source: { attempts: 1 } });
    const result = await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: name, stamp: '20250101_030000' })).result());
    assert.equal(result.counts.raw, 5000);
    assert.equal(result.counts.dead_lettered, expectedOutcome(5000).invalid);
    assert.equal(result.extract.attempts, 3, 'two failed attempts, then the one that finished');
    assert.equal(result.extract.resumed_from_skip, 3600, 'the last attempt started at page 37 (skip 3600)');
    const fetches = new Map<number, number>();
    for (const e of api.log) fetches.set(e.page, (fetches.get(e.page) ?? 0) + 1);
    for (let page = 1; page < 37; page++) assert.equal(fetches.get(page), 1, `page ${page} fetched once`);
    assert.equal(fetches.get(37), 3, 'page 37: 500, 500, 200');
    // pages already in flight behind 37 (source.concurrency) are dropped with the failed attempt and asked again
    for (let page = 38; page <= 50; page++) assert.ok((fetches.get(page) ?? 0) >= 1 && (fetches.get(page) ?? 0) <= 3, `page ${page} fetched ${fetches.get(page)} times`);
    for (let page = 38 + 3; page <= 50; page++) assert.equal(fetches.get(page), 1, `page ${page} (beyond the pages in flight) fetched once`);
  });

  it('HTTP 429 and a page that never answers are tried again inside the attempt (backoff, request timeout)', async () => {
    api.setFaults([
      { page: 2, kind: 'status', status: 429, times: 1 },
      { page: 4, kind: 'stall', times: 1 },
    ]);
    api.log.length = 0;
    const name = uniqueId('retry');
    const config = etlConfig({ name, url: api.url, dir, source: { max_records: 1000, timeout_ms: 1000 } });
    const result = await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: name })).result());
    assert.equal(result.counts.raw, 1000);
    assert.equal(result.extract.attempts, 1, 'no failed attempt: the requests were retried');
    // each page once, the 429 page and the stalled one twice (tried again within the attempt; with
    // pages in flight at once the order of the log varies)
    const fetches = new Map<number, number>();
    for (const e of api.log) fetches.set(e.page, (fetches.get(e.page) ?? 0) + 1);
    assert.deepEqual([...fetches].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 2], [3, 1], [4, 2], [5, 1], [6, 1], [7, 1], [8, 1], [9, 1], [10, 1]]);
    assert.deepEqual(api.log.slice(0, 2).map((e) => e.page), [1, 2], 'the first page goes alone (it tells the total)');
  });

  it('the same run started twice is one run; a rerun of a finished run replaces its rows', async () => {
    api.setFaults([]);
    const name = uniqueId('idem');
    const config = etlConfig({ name, url: api.url, dir, source: { max_records: 2000 } });
    const stamp = '20250102_030000';
    await withWorker(config, async (client) => {
      const [a, b] = await Promise.all([
        startEtlRun(client, config, { pipeline: name, stamp }),
        startEtlRun(client, config, { pipeline: name, stamp }),
      ]);
      const [ra, rb] = await Promise.all([a.result(), b.result()]);
      assert.equal(a.workflowId, b.workflowId);
      assert.equal((await a.describe()).runId, (await b.describe()).runId, 'one run');
      assert.deepEqual(ra, rb);
      const runs = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${a.workflowId}'` })) runs.push(wf.runId);
      assert.equal(runs.length, 1);

      const db = openSqlite(config.etl.sqlite_path);
      const first = await db.counts(name, stamp);
      assert.deepEqual(first, { raw: 2000, processed: ra.counts.processed, dlq: ra.counts.dead_lettered });
      // rerun the finished run: its rows are replaced, not added
      const again = await (await startEtlRun(client, config, { pipeline: name, stamp })).result();
      assert.deepEqual(again.counts, ra.counts);
      assert.deepEqual(await db.counts(name, stamp), first);
      assert.equal(await db.duplicates(name, stamp), 0);
      await db.close();
    });
  });
});
