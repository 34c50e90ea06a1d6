/**
 * The rows the one-pass extract commits on the way (SQLite): the save takes them as loaded only
 * when the database holds exactly that many for the run, and the extract reports them only when
 * they are the records it staged. Each guard alone: the counts match except one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { openSqlite } from '../../src/etl/db';
import { loadedByExtract } from '../../src/etl/save';
import { checkedRows } from '../../src/etl/extract-transform';
import { tmpDir } from './helpers';

const dir = tmpDir('etl-rows-loaded');
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'etl.db');
const stamp = '20250105_030000';

async function seed(pipeline: string, n: { raw: number; processed: number; dlq: number }) {
  const db = openSqlite(file);
  try {
    await db.loadRun(pipeline, stamp, { replace: true }, async (sink) => {
      await sink.raw(Array.from({ length: n.raw }, (_, i) => ({ line: i + 1, id: String(i + 1), data: '{}' })));
      await sink.processed(Array.from({ length: n.processed }, (_, i) => ({ id: String(i + 1), data: '{}', department_code: 'SAL' })));
      await sink.dlq(Array.from({ length: n.dlq }, (_, i) => ({ line: 100 + i, id: null, error_reason: 'age: too high', rule: 'age:max', data: '{}' })));
    });
  } finally {
    await db.close();
  }
}

test('the save takes the rows as loaded when the database holds exactly them', async () => {
  await seed('same', { raw: 5, processed: 4, dlq: 1 });
  let kind: string | undefined;
  const r = await loadedByExtract({ sqlite_path: file }, file, { pipeline: 'same', stamp, rows_loaded: { raw: 5, processed: 4, dlq: 1 } }, (k) => (kind = k));
  assert.deepEqual(r, { raw: 5, processed: 4, dlq: 1 });
  assert.equal(kind, 'sqlite');
});

for (const [label, held] of [
  ['a raw row missing', { raw: 4, processed: 4, dlq: 1 }],
  ['a processed row missing', { raw: 5, processed: 3, dlq: 1 }],
  ['a dead letter missing', { raw: 5, processed: 4, dlq: 0 }],
] as const) {
  test(`the save loads the run again when the database differs (${label})`, async () => {
    const pipeline = label.replace(/\W+/g, '_');
    await seed(pipeline, held);
    const r = await new MockActivityEnvironment().run(() => loadedByExtract({ sqlite_path: file }, file, { pipeline, stamp, rows_loaded: { raw: 5, processed: 4, dlq: 1 } }, () => undefined));
    assert.equal(r, undefined);
  });
}

test('the extract reports committed rows only when they are the records it staged, kind by kind', async () => {
  const env = new MockActivityEnvironment();
  const staged = { records: 10, processed: 8, dead_lettered: 2 };
  assert.deepEqual(await env.run(async () => checkedRows({ raw: 10, processed: 8, dlq: 2 }, staged)), { raw: 10, processed: 8, dlq: 2 });
  assert.equal(await env.run(async () => checkedRows({ raw: 9, processed: 8, dlq: 2 }, staged)), undefined);
  assert.equal(await env.run(async () => checkedRows({ raw: 10, processed: 7, dlq: 2 }, staged)), undefined);
  assert.equal(await env.run(async () => checkedRows({ raw: 10, processed: 8, dlq: 3 }, staged)), undefined);
});
