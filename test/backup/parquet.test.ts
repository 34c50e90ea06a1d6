/** The worker-side Parquet writer against an independent reader (pyarrow from PyPI). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ndjsonBatches, StreamingParquetFile, timestampMicros, type BqField } from '../../src/backup/parquet';
import { readParquet } from './helpers';

const FIELDS: BqField[] = [
  { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
  { name: 'price', type: 'FLOAT' },
  { name: 'name', type: 'STRING' },
  { name: 'ok', type: 'BOOLEAN' },
  { name: 'd', type: 'DATE' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'dt', type: 'DATETIME' },
  { name: 'n', type: 'NUMERIC' },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' },
];

test('timestamps in the shapes BigQuery writes them become microseconds', () => {
  assert.equal(timestampMicros('2025-01-08 06:15:00.123456 UTC', 'c'), 1736316900123456n);
  assert.equal(timestampMicros('2025-01-08T06:15:00Z', 'c'), 1736316900000000n);
  assert.equal(timestampMicros('2025-01-08T07:15:00+01:00', 'c'), 1736316900000000n);
  assert.equal(timestampMicros('1.7363169E9', 'c'), 1736316900000000n);
  assert.equal(timestampMicros(1736316900.5, 'c'), 1736316900500000n);
  // the fast path for the extract's own shapes, and the edges of BigQuery's range (years < 100 are not 19xx)
  assert.equal(timestampMicros('2025-01-08T06:15:00.5', 'c'), 1736316900500000n);
  assert.equal(timestampMicros('2025-01-08 06:15:00.123456789+00:00', 'c'), 1736316900123456n);
  assert.equal(timestampMicros('0001-01-01 00:00:00 UTC', 'c'), -62135596800000000n);
  assert.equal(timestampMicros('0099-12-31T00:00:00Z', 'c'), BigInt(Date.parse('0099-12-31T00:00:00Z')) * 1000n);
  assert.equal(timestampMicros('9999-12-31T23:59:59.999999Z', 'c'), 253402300799999999n);
  assert.throws(() => timestampMicros('2025-01-08T06:15:0x', 'when'), /is not a timestamp/);
  assert.throws(() => timestampMicros('yesterday', 'when'), /column when: "yesterday" is not a timestamp/);
});

test('newline-delimited JSON split anywhere across chunks: every row once, CRLF and blank lines ignored, a last line without newline kept', async () => {
  const rows = Array.from({ length: 50 }, (_, i) => ({ i, s: `Zoë 山田 🚀 ${'x'.repeat(i * 7)}` }));
  const text = Buffer.from(rows.map((r, i) => JSON.stringify(r) + (i % 5 === 0 ? '\r\n' : i % 7 === 0 ? '\n\n' : '\n')).join('').replace(/\n$/, ''));
  for (const size of [1, 3, 17, 100, 4096, text.length]) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < text.length; at += size) chunks.push(text.subarray(at, at + size)); // splits inside multi-byte characters too
    const got: unknown[] = [];
    for await (const batch of ndjsonBatches(Readable.from(chunks))) got.push(...batch);
    assert.deepEqual(got, rows, `chunks of ${size} bytes`);
  }
  await assert.rejects(async () => {
    for await (const batch of ndjsonBatches(Readable.from([Buffer.from('{"a":1}\n{"a":\n')]))) void batch;
  }, SyntaxError);
});

test('a streamed Parquet file with several row groups, Snappy, NULLs and unicode reads back in pyarrow', async () => {
  const chunks: Buffer[] = [];
  const file = new StreamingParquetFile(FIELDS, async (c) => void chunks.push(c), { codec: 'SNAPPY', rowGroupRows: 1000 });
  const rows = 2500;
  for (let i = 0; i < rows; i++) {
    await file.add({
      id: String(i),
      price: i % 3 ? i / 4 : null,
      name: i % 5 ? `Zoë 山田 🚀 ${i}` : null,
      ok: i % 2 === 0,
      d: i % 7 ? '2025-01-08' : null,
      ts: '2025-01-08 06:15:00.000001 UTC',
      dt: '2025-01-08T06:15:00',
      n: '12345678901234567890.123456789',
      tags: ['a', 'b'],
    });
  }
  const r = await file.finish();
  assert.equal(r.rows, rows);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pq-')), 'x.parquet');
  fs.writeFileSync(out, Buffer.concat(chunks));
  assert.equal(fs.statSync(out).size, r.bytes);
  const facts = readParquet([out]);
  assert.equal(facts.rows, rows);
  assert.deepEqual(facts.columns, FIELDS.map((f) => f.name));
  assert.deepEqual(facts.compression, ['SNAPPY']);
  assert.equal(facts.types.id, 'int64');
  assert.equal(facts.types.d, 'date32[day]');
  assert.equal(facts.types.ts, 'timestamp[us, tz=UTC]');
  assert.equal(facts.types.dt, 'timestamp[us]');
  assert.equal(facts.sample[0].name, null);
  assert.equal(facts.sample[1].name, 'Zoë 山田 🚀 1');
  assert.equal(facts.sample[1].ts, '2025-01-08 06:15:00.000001+00:00');
  assert.equal(facts.sample[0].price, null);
  assert.equal(facts.sample[1].n, '12345678901234567890.123456789');
  assert.equal(facts.sample[1].tags, '["a","b"]');
});
