/** The worker-side Parquet writer (rows as tabledata.list sends them) against an independent reader (pyarrow from PyPI). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StreamingParquetFile, timestampMicros, type BqField } from '../../src/backup/parquet';
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

test('a streamed Parquet file with several row groups, Snappy, NULLs and unicode reads back in pyarrow', async () => {
  const chunks: Buffer[] = [];
  const file = new StreamingParquetFile(FIELDS, async (c) => void chunks.push(c), { codec: 'SNAPPY', rowGroupRows: 1000 });
  const rows = 2500;
  for (let i = 0; i < rows; i++) {
    // tabledata.list's values in schema order: numbers and booleans as text, timestamps as integer µs
    await file.add([
      String(i),
      i % 3 ? String(i / 4) : null,
      i % 5 ? `Zoë 山田 🚀 ${i}` : null,
      String(i % 2 === 0),
      i % 7 ? '2025-01-08' : null,
      '1736316900000001',
      '2025-01-08T06:15:00',
      '12345678901234567890.123456789',
      [{ v: 'a' }, { v: 'b' }],
    ]);
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
