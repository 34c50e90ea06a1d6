/**
 * What the save and the one-pass extract do to keep CPU and garbage down, each held to the result
 * it replaces:
 * - `ByteChunk` (a part filled as UTF-8 bytes in a reused buffer) holds exactly the bytes of the
 *   texts written, across growth and reuse, multi-byte and astral characters included;
 * - record staging counts every record once per cut and names the rule of each dead letter (the
 *   users API's invalid kinds, odd records, repeated ids, ids remembered from an earlier attempt);
 * - `warmSftpSession` leaves an idle SFTP session in the pool for the save (key + passphrase user).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { ByteChunk } from '../../src/etl/byte-chunk';
import { etlLookupSchema, etlValidationSchema } from '../../src/etl/config';
import { appendableColumns, warmSftpSession } from '../../src/etl/extract-transform';
import { parseCsv, type LoadedLookup } from '../../src/etl/lookups';
import { inlineStage, type Stage } from '../../src/etl/stage-client';
import { departmentsCsv, generateUser } from '../../src/etl/users-data';
import { fastAcceptFor, schemaForPipeline } from '../../src/etl/validation';
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

describe('record staging', () => {
  it('stages the users API\'s invalid kinds and odd records: counts per cut, dead letters naming the rule', async () => {
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
    assert.equal(inline.out.length, 3);
    const total = (inline.counts as { records: number; processed: number; dead: number }[]).reduce((n, c) => n + c.records, 0);
    assert.equal(total, 30 * 100 + 8, 'every record of every page is staged once');
    for (const c of inline.counts as { records: number; processed: number; dead: number }[]) assert.equal(c.processed + c.dead, c.records);
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
