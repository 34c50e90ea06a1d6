/**
 * What the save and the one-pass extract do to keep CPU and garbage down, each held to the result
 * it replaces:
 * - `ByteChunk` (a part filled as UTF-8 bytes in a reused buffer) holds exactly the bytes of the
 *   texts written, across growth and reuse, multi-byte and astral characters included;
 * - `SqliteRunLoad` (the run's SQLite load on a thread of its own) loads the rows the staged lines
 *   give, replaces a run's rows, and leaves the old rows when it fails or is closed uncommitted;
 * - the record-staging thread gives the same bytes and counts as staging on the activity's thread
 *   (the users API's invalid kinds, odd records, repeated ids, ids remembered from an earlier attempt);
 * - `warmSftpSession` leaves an idle SFTP session in the pool for the save (key + passphrase user).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ByteChunk } from '../../src/etl/byte-chunk';
import { openSqlite } from '../../src/etl/db';
import { etlLookupSchema, etlValidationSchema } from '../../src/etl/config';
import { appendableColumns, warmSftpSession } from '../../src/etl/extract-transform';
import { parseCsv, type LoadedLookup } from '../../src/etl/lookups';
import { inlineStage, threadStage, type Stage } from '../../src/etl/stage-client';
import { departmentsCsv, generateUser } from '../../src/etl/users-data';
import { fastAcceptFor, schemaForPipeline } from '../../src/etl/validation';
import { SqliteRunLoad } from '../../src/etl/sqlite-load';
import { SftpPool } from '../../src/sftp';
import { etlConfig, stackUsersApiUrl, tmpDir, uniqueId } from './helpers';

const dir = tmpDir('etl-save-memory');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ByteChunk', () => {
  it('holds the UTF-8 bytes of what was written, through growth and reuse', () => {
    const pool: Buffer[] = [];
    const texts = ['{"id":1,"name":"Zoë"}', 'plain', '日本語テキスト', '😀 astral 😀', 'x'.repeat(300)];
    const c = new ByteChunk(pool, 16); // tiny: grows several times
    let expected = '';
    for (let i = 0; i < 50; i++) {
      const t = texts[i % texts.length];
      if (i % 2) {
        c.line(t);
        expected += `${t}\n`;
      } else {
        c.text(t);
        expected += t;
      }
    }
    assert.deepEqual(c.bytes(), Buffer.from(expected));
    assert.equal(c.length, Buffer.byteLength(expected));
    c.release();
    assert.equal(pool.length, 1, 'the buffer goes back to the free list');
    const again = new ByteChunk(pool, 16);
    again.line('é');
    assert.equal(pool.length, 0, 'and is taken from it');
    assert.deepEqual(again.bytes(), Buffer.from('é\n'));
  });
});

describe('SqliteRunLoad', () => {
  const raw = (id: number) => JSON.stringify({ id, firstName: `F${id}`, age: 30, company: { department: 'Sales' } });
  const processed = (id: number) => `${raw(id).slice(0, -1)},"department_code":"SAL"}`;
  const dead = (line: number) => JSON.stringify({ line, id: String(line), rule: 'age:max', error_reason: 'age: max — must be at most 65 (got 80)', record: JSON.parse(raw(line)) });
  const file = path.join(dir, 'load.db');

  /** the three files' bytes through the thread in uneven pieces, then committed */
  async function load(runId: string, ids: number[], broken?: string): Promise<Record<string, number>> {
    const l = new SqliteRunLoad({ file, pipeline: 'p', runId });
    try {
      const texts = { raw: ids.map(raw).join('\n') + '\n', processed: ids.map(processed).join('\n') + '\n', dlq: (broken ?? dead(ids[0])) + '\n' };
      for (const kind of ['raw', 'processed', 'dlq'] as const) {
        const tap = l.tap(kind, () => undefined);
        const bytes = Buffer.from(texts[kind]);
        for (let at = 0; at < bytes.length; at += 777) tap.write(bytes.subarray(at, at + 777));
        tap.end();
        tap.resume();
        await new Promise<void>((resolve) => tap.once('end', resolve).once('error', () => resolve()));
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
    const tap = l.tap('raw', () => undefined);
    tap.resume();
    tap.write(Buffer.from(`${raw(1)}\n`));
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

describe('record staging on its own thread', () => {
  it('gives the same bytes and counts as on the activity thread', async () => {
    const rules = etlValidationSchema.parse({ required: ['phone'] });
    const config = etlLookupSchema.parse({ file: '/x/departments.csv', key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' } });
    const rows = parseCsv(departmentsCsv());
    const lookups: LoadedLookup[] = [{ config, file: config.file, table: new Map(rows.slice(1).map((r) => [r[0], { department_code: r[1] }])) }];
    const appended = appendableColumns(lookups);
    // pages of the users API (every invalid kind), then odd records: not objects, a repeated id,
    // the lookup column already there, an id remembered from the "earlier attempt", unicode
    const pages: unknown[][] = [];
    for (let p = 0; p < 30; p++) pages.push(Array.from({ length: 100 }, (_, i) => generateUser(p * 100 + i + 1, 2)));
    const odd = { ...generateUser(5, 2), id: 5 };
    pages.push(['text', 42, null, [1, 2], odd, { ...generateUser(9001, 2), department_code: 'X' }, { ...generateUser(1, 2), id: 77_777, firstName: 'Zoë 😀' }, generateUser(3, 2)]);
    const earlier = [JSON.stringify(generateUser(77_777, 2)), 'not json', JSON.stringify('x')];
    const runStage = async (stage: Stage) => {
      const out: Buffer[] = [];
      const counts: unknown[] = [];
      try {
        stage.remember(earlier, 1);
        for (const [i, page] of pages.entries()) {
          // fresh records each time: staging enriches them in place, as it does a page's own parse
          const texts = page.map((r) => JSON.stringify(r));
          stage.take(texts, texts.map((t) => JSON.parse(t) as unknown));
          if (i % 12 === 11 || i === pages.length - 1) {
            const c = await stage.cut();
            out.push(Buffer.concat([c.raw, Buffer.from('|'), c.processed, Buffer.from('|'), c.dlq]));
            counts.push({ records: c.records, processed: c.processed_n, dead: c.dead, reasons: c.reasons });
            c.release();
          }
        }
      } finally {
        await stage.close();
      }
      return { out, counts };
    };
    const inline = await runStage(inlineStage({ schema: schemaForPipeline('p', rules), lookups, fast: fastAcceptFor('p', rules), seen: new Map() }, appended, earlier.length));
    const threaded = await runStage(threadStage({ pipeline: 'p', rules, lookups, appended, line: earlier.length }));
    assert.deepEqual(threaded.counts, inline.counts);
    assert.equal(threaded.out.length, 3);
    for (let i = 0; i < inline.out.length; i++) assert.ok(threaded.out[i].equals(inline.out[i]), `chunk ${i} differs`);
    const last = inline.out.at(-1)!.toString();
    assert.match(last, /"rule":"id:duplicate","error_reason":"id: duplicate — id 77777 was already processed from line 1"/);
    assert.match(last, /"rule":"record:object"/);
  });
});

describe('warmSftpSession', () => {
  it('leaves an idle session to the key + passphrase user in the pool', async () => {
    const name = uniqueId('warm');
    const config = etlConfig({ name, url: stackUsersApiUrl(), dir });
    const pool = new SftpPool();
    try {
      warmSftpSession(config, pool, 'default');
      for (let i = 0; i < 200 && pool.stats().idle === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pool.stats().idle, 1);
      assert.equal(pool.stats().open, 1);
    } finally {
      await pool.closeAll();
    }
  });

  it('an unknown connection is left for the save to report (nothing thrown, nothing opened)', async () => {
    const config = etlConfig({ name: uniqueId('warm'), url: stackUsersApiUrl(), dir });
    const pool = new SftpPool();
    warmSftpSession(config, pool, 'nope');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.stats().open, 0);
  });
});
