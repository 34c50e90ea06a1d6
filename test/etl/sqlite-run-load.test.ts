/**
 * `SqliteRunLoad`, the run's SQLite load on a thread of its own that the one-pass extract feeds:
 * it loads the rows the staged lines give (fed in pieces that cut lines and UTF-8 characters),
 * replaces a run's rows, and leaves the old rows when it fails or is closed uncommitted.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqlite } from '../../src/etl/db';
import { SqliteRunLoad } from '../../src/etl/sqlite-load';
import { tmpDir } from './helpers';

const dir = tmpDir('sqlite-run-load');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SqliteRunLoad', () => {
  const raw = (id: number) => JSON.stringify({ id, firstName: `Zoë ${id} 😀`, age: 30, company: { department: 'Sales' } });
  const processed = (id: number) => `${raw(id).slice(0, -1)},"department_code":"SAL"}`;
  const dead = (line: number) => JSON.stringify({ line, id: String(line), rule: 'age:max', error_reason: 'age: max — must be at most 65 (got 80)', record: JSON.parse(raw(line)) });
  const file = path.join(dir, 'load.db');

  /** the three files' bytes fed in uneven pieces, interleaved by kind, then committed */
  async function load(runId: string, ids: number[], broken?: string): Promise<Record<string, number>> {
    const l = new SqliteRunLoad({ file, pipeline: 'p', runId });
    try {
      const texts = { raw: ids.map(raw).join('\n') + '\n', processed: ids.map(processed).join('\n') + '\n', dlq: (broken ?? dead(ids[0])) + '\n' };
      const bytes = { raw: Buffer.from(texts.raw), processed: Buffer.from(texts.processed), dlq: Buffer.from(texts.dlq) };
      for (let at = 0; at < bytes.processed.length; at += 777) {
        for (const kind of ['raw', 'processed', 'dlq'] as const) if (at < bytes[kind].length) await l.feed(kind, bytes[kind].subarray(at, at + 777));
      }
      return await l.commit();
    } finally {
      await l.close();
    }
  }

  it('loads the rows of the staged lines; a second load of the run replaces them', async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => i + 1);
    assert.deepEqual(await load('20250101_000000', ids), { raw: 3000, processed: 3000, dlq: 1 });
    assert.deepEqual(await load('20250101_000000', ids.slice(0, 1000)), { raw: 1000, processed: 1000, dlq: 1 });
    const db = openSqlite(file);
    try {
      assert.deepEqual(await db.counts('p', '20250101_000000'), { raw: 1000, processed: 1000, dlq: 1 });
      assert.equal(await db.duplicates('p', '20250101_000000'), 0);
      const ids2 = (await db.processedIds('p', '20250101_000000')).map(Number).sort((a, b) => a - b);
      assert.deepEqual(ids2, ids.slice(0, 1000));
      const [d] = await db.deadLetters('p', '20250101_000000');
      assert.equal(d.rule, 'age:max');
      assert.equal(d.data, raw(1));
    } finally {
      await db.close();
    }
  });

  it('a line that cannot be a row fails the load and the run keeps its old rows', async () => {
    await assert.rejects(load('20250101_000000', [1, 2], '{not json'), /JSON/);
    const db = openSqlite(file);
    try {
      assert.deepEqual(await db.counts('p', '20250101_000000'), { raw: 1000, processed: 1000, dlq: 1 });
    } finally {
      await db.close();
    }
  });

  it('closed without a commit, the run keeps its old rows', async () => {
    const l = new SqliteRunLoad({ file, pipeline: 'p', runId: '20250101_000000' });
    await l.feed('raw', Buffer.from(`${raw(1)}\n`));
    await new Promise((r) => setTimeout(r, 100));
    await l.close();
    const db = openSqlite(file);
    try {
      assert.deepEqual(await db.counts('p', '20250101_000000'), { raw: 1000, processed: 1000, dlq: 1 });
    } finally {
      await db.close();
    }
  });
});
