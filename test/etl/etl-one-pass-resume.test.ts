/**
 * `etlExtractTransform` resumed by a second attempt (the activity alone, MockActivityEnvironment,
 * against the stack's GCS): a repeated id that arrives after the resume is still a dead letter
 * naming the line it was first processed from (the seen ids are rebuilt from the raw parts the
 * first attempt stored), the pages before the failing one are not fetched again, and the staged
 * files are what one uninterrupted pass gives.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEtlExtractTransform, type ExtractTransformProgress, type ExtractTransformResult } from '../../src/etl/extract-transform';
import type { DeadLetter } from '../../src/etl/transform';
import { openSqlite } from '../../src/etl/db';
import { storage } from '../helpers/export';
import { etlConfig, gcsObject, jsonLines, tmpDir, uniqueId } from './helpers';

const user = (id: number) => ({ id, firstName: `F${id}`, email: `u${id}@example.com`, age: 30, company: { department: 'Sales' } });
// page 2 repeats id 1 (a dead letter), page 3 is new
const PAGES = [[user(1), user(2)], [user(3), user(1)], [user(4), user(5)]];

describe('etlExtractTransform resumed by a second attempt', () => {
  const dir = tmpDir('etl-one-pass');
  let server: http.Server;
  let url = '';
  const log: number[] = [];
  let failPage2 = 1;
  before(async () => {
    server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const skip = Number(u.searchParams.get('skip'));
      const page = skip / 2 + 1;
      log.push(page);
      if (page === 2 && failPage2-- > 0) return void res.writeHead(500).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ users: PAGES[page - 1] ?? [], total: 6, skip, limit: 2 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a repeated id after the resume is a dead letter naming its first line; earlier pages are not fetched again', async () => {
    const name = uniqueId('onepass');
    const config = etlConfig({ name, url, dir, source: { page_size: 2, attempts: 1 } });
    const deps = { config, storage: storage() };
    const input = { pipeline: name, stamp: '20250103_030000' };

    const first = new MockActivityEnvironment({ attempt: 1 });
    let last: ExtractTransformProgress | undefined;
    first.on('heartbeat', (d: unknown) => (last = d as ExtractTransformProgress));
    await assert.rejects(first.run(createEtlExtractTransform(deps), input), (err: Error & { type?: string }) => err.type === 'SourceUnavailable');
    assert.equal(last?.next_skip, 2, 'page 1 stored before the failing page');
    assert.equal(last?.parts.raw.length, 1);
    // the failed attempt's rows were never committed
    const db = openSqlite(config.etl.sqlite_path);
    try {
      assert.deepEqual(await db.counts(name, input.stamp), { raw: 0, processed: 0, dlq: 0 });
    } finally {
      await db.close();
    }

    const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: last });
    const r = (await second.run(createEtlExtractTransform(deps), input)) as ExtractTransformResult;
    const count = (page: number) => log.filter((p) => p === page).length;
    assert.equal(count(1), 1, 'page 1 once: the resumed attempt starts at page 2');
    assert.equal(count(2), 2, 'page 2: 500, then 200');
    assert.ok(count(3) >= 1 && count(3) <= 2, 'page 3: once, or twice when it was in flight as page 2 failed');
    assert.equal(r.resumed_from_skip, 2);
    assert.deepEqual({ raw: r.raw, processed: r.processed, dead: r.dead_lettered, reasons: r.reasons }, { raw: 6, processed: 5, dead: 1, reasons: { 'id:duplicate': 1 } });
    const dead = jsonLines<DeadLetter>(await gcsObject(r.dlq_object));
    assert.equal(dead.length, 1);
    assert.equal(dead[0].line, 4);
    assert.match(dead[0].error_reason, /^id: duplicate — id 1 was already processed from line 1$/);
    const raw = (await gcsObject(r.raw_object)).toString('utf8');
    assert.equal(raw, PAGES.flat().map((u) => `${JSON.stringify(u)}\n`).join(''));
    const processed = jsonLines<{ id: number; department_code: string }>(await gcsObject(r.processed_object));
    assert.deepEqual(processed.map((p) => p.id), [1, 2, 3, 4, 5]);
    assert.ok(processed.every((p) => p.department_code === 'SAL'));
    // the rows went into SQLite on the way, once each: the stored part of the first attempt again, then the rest
    assert.deepEqual(r.rows_loaded, { raw: 6, processed: 5, dlq: 1 });
    const db2 = openSqlite(config.etl.sqlite_path);
    try {
      assert.deepEqual(await db2.counts(name, input.stamp), { raw: 6, processed: 5, dlq: 1 });
      assert.equal(await db2.duplicates(name, input.stamp), 0);
      assert.deepEqual((await db2.processedIds(name, input.stamp)).map(Number).sort(), [1, 2, 3, 4, 5]);
      const dl = await db2.deadLetters(name, input.stamp);
      assert.deepEqual(dl.map((d) => [d.line, d.id, d.rule]), [[4, '1', 'id:duplicate']]);
    } finally {
      await db2.close();
    }
    // the parts are gone once composed
    const [parts] = await storage().bucket(config.gcs.bucket).getFiles({ prefix: `etl/${name}/` });
    assert.deepEqual(parts.map((f) => f.name).filter((n) => n.includes('.parts/')), []);
  });
});
