/**
 * The worker-side Parquet path's reader: a table's rows from `tabledata.list` (a fake BigQuery on
 * loopback serving the bodies, split at odd places) through the BigQuery client, streamed into
 * Parquet part files that pyarrow reads back: every type's tabledata shape, paging by pageToken,
 * part files at rows_per_file, and the guards (rows short of totalRows, a page token twice, a body
 * cut off, a row with the wrong number of values, an error answer): the open part is discarded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createBigQuery } from '../../src/bigquery/client';
import { StreamingParquetFile, type BqField } from '../../src/backup/parquet';
import { rowValues, TableReadError, tableToParquet, type ParquetPartSink, type TableToParquetArgs } from '../../src/backup/table-read';
import type { RawRow } from '../../src/ingest/bq-pages';
import { ensurePyarrow, readParquet } from './helpers';

type Page = { rows?: RawRow[]; totalRows?: string; pageToken?: string; raw?: string; status?: number; cut?: boolean };

/** The pages to answer, by the request's pageToken ('' for the first), and the query strings asked. */
let pages: Record<string, Page> = {};
const asked: URLSearchParams[] = [];
let server: http.Server;
let endpoint = '';

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.endsWith('/projects/p/datasets/d/tables/t/data')) return void res.writeHead(404).end();
    asked.push(url.searchParams);
    const page = pages[url.searchParams.get('pageToken') ?? ''];
    if (!page) return void res.writeHead(500).end('no such page');
    const body = Buffer.from(page.raw ?? JSON.stringify({ kind: 'bigquery#tableDataList', etag: 'e', ...(page.pageToken ? { pageToken: page.pageToken } : {}), rows: page.rows, totalRows: page.totalRows }));
    res.writeHead(page.status ?? 200, { 'content-type': 'application/json' });
    // in pieces of 7 bytes: splits values, rows and multi-byte characters
    const end = page.cut ? Math.floor(body.length / 2) : body.length;
    let at = 0;
    const next = () => {
      if (at >= end) return void (page.cut ? res.destroy() : res.end());
      res.write(body.subarray(at, Math.min(end, (at += 7 + (at % 13)))), next);
    };
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

/** str() of each value of one column, as Python sees it (exact, unlike JSON numbers). */
function pythonStrings(file: string, column: string): string[] {
  ensurePyarrow();
  const py = 'import json, sys, pyarrow.parquet as pq; print(json.dumps([str(v) for v in pq.read_table(sys.argv[1]).column(sys.argv[2]).to_pylist()]))';
  return JSON.parse(execFileSync('python3', ['-c', py, file, column], { encoding: 'utf8' })) as string[];
}

const table = () => createBigQuery({ apiEndpoint: endpoint, projectId: 'p' }).dataset('d').table('t');
/** The Parquet writer of `schema` (Snappy, `rowGroupRows` rows a group), as the activity gives it. */
const writer = (schema: BqField[], rowGroupRows: number): TableToParquetArgs['newFile'] => (write) => new StreamingParquetFile(schema, write, { codec: 'SNAPPY', rowGroupRows });
const row = (...v: unknown[]): RawRow => ({ f: v.map((x) => ({ v: x })) });

/** Part files in a temp folder; what each part ended as. */
function localParts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-td-'));
  const parts: { file: string; state: 'open' | 'stored' | 'discarded' }[] = [];
  const openPart = (i: number): ParquetPartSink => {
    const file = path.join(dir, `part-${String(i).padStart(5, '0')}.parquet`);
    const fd = fs.openSync(file, 'w');
    const p = { file, state: 'open' as 'open' | 'stored' | 'discarded' };
    parts.push(p);
    return {
      write: async (c) => void fs.writeSync(fd, c),
      end: async () => {
        fs.closeSync(fd);
        p.state = 'stored';
      },
      discard: async () => {
        fs.closeSync(fd);
        fs.rmSync(file);
        p.state = 'discarded';
      },
    };
  };
  return { parts, openPart, stored: () => parts.filter((p) => p.state === 'stored').map((p) => p.file) };
}

const SCHEMA: BqField[] = [
  { name: 'i', type: 'INTEGER' },
  { name: 'f', type: 'FLOAT' },
  { name: 's', type: 'STRING' },
  { name: 'b', type: 'BOOLEAN' },
  { name: 'by', type: 'BYTES' },
  { name: 'd', type: 'DATE' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'dt', type: 'DATETIME' },
  { name: 't', type: 'TIME' },
  { name: 'n', type: 'NUMERIC' },
  { name: 'bn', type: 'BIGNUMERIC' },
  { name: 'g', type: 'GEOGRAPHY' },
  { name: 'j', type: 'JSON' },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  { name: 'nums', type: 'INTEGER', mode: 'REPEATED' },
  { name: 'rec', type: 'RECORD', fields: [{ name: 'a', type: 'INTEGER' }, { name: 'seen', type: 'TIMESTAMP' }, { name: 'items', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 'x', type: 'STRING' }, { name: 'ok', type: 'BOOLEAN' }] }] },
  { name: 'recs', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 'k', type: 'STRING' }, { name: 'v', type: 'FLOAT' }] },
  { name: 'req', type: 'INTEGER', mode: 'REQUIRED' },
];

const TYPED_ROWS: RawRow[] = [
  row(
    '42', '1.5', 'Zoë "quoted" back\\slash\ttab\nline 🚀', 'true', Buffer.from([0, 1, 254, 255]).toString('base64'), '2025-01-08', '1736316900123456',
    '2025-01-08T06:15:00.5', '06:15:00.25', '123.456', '12345678901234567890.123', 'POINT(1 2)', '{"a":[1,2],"b":null}',
    [{ v: 'a' }, { v: 'b' }], [{ v: '1' }, { v: '-2' }],
    { f: [{ v: '7' }, { v: '1582977600000000' }, { v: [{ v: { f: [{ v: 'q' }, { v: 'false' }] } }] }] },
    [{ v: { f: [{ v: 'x' }, { v: '0.5' }] } }, { v: { f: [{ v: 'y' }, { v: null }] } }],
    '1',
  ),
  row(null, null, null, null, null, null, null, null, null, null, null, null, null, [], [], null, [], '2'),
  // the edges: beyond 2^53, NaN/Infinity, year 1 (negative µs), the last µs of 9999, text and seconds where a service ignores useInt64Timestamp
  row('-9007199254740993', 'NaN', '', 'false', '', '0001-01-01', '-62135596800000000', '9999-12-31T23:59:59.999999', '23:59:59.999999', '-0.5', '0', null, '"text"',
    [{ v: '' }], [], { f: [{ v: null }, { v: '2020-02-29 12:00:00+00' }, { v: [] }] }, [{ v: { f: [{ v: null }, { v: 'Infinity' }] } }], '3'),
  row('0', '-Infinity', 'plain', 'true', null, '2024-02-29', '1.7363169E9', null, null, null, null, null, null, [], [], null, [], '4'),
];

test("every type in tabledata.list's shapes (strings, µs timestamps, nulls, RECORD/REPEATED) reads back right in pyarrow", async () => {
  pages = { '': { rows: TYPED_ROWS, totalRows: '4' } };
  asked.length = 0;
  const out = localParts();
  const r = await tableToParquet({ table: table(), newFile: writer(SCHEMA, 10), numRows: 4, rowsPerFile: 1000, openPart: out.openPart });
  assert.equal(r.rows, 4);
  assert.equal(r.total_rows, 4);
  assert.equal(r.pages, 1);
  assert.equal(r.files, 1);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].get('maxResults'), '4', 'the whole table asked for in one response');
  assert.equal(asked[0].get('formatOptions.useInt64Timestamp'), 'true');
  const facts = readParquet(out.stored());
  assert.equal(facts.rows, 4);
  assert.deepEqual(facts.columns, SCHEMA.map((f) => f.name));
  assert.deepEqual(facts.compression, ['SNAPPY']);
  assert.deepEqual(
    Object.fromEntries(['i', 'f', 's', 'b', 'by', 'd', 'ts', 'dt', 't', 'n', 'j', 'tags', 'rec', 'req'].map((c) => [c, facts.types[c]])),
    { i: 'int64', f: 'double', s: 'string', b: 'bool', by: 'binary', d: 'date32[day]', ts: 'timestamp[us, tz=UTC]', dt: 'timestamp[us]', t: 'string', n: 'string', j: 'extension<arrow.json>', tags: 'extension<arrow.json>', rec: 'extension<arrow.json>', req: 'int64' },
  );
  const [a, nulls, edges, seconds] = facts.sample;
  assert.deepEqual(a, {
    i: 42, f: 1.5, s: 'Zoë "quoted" back\\slash\ttab\nline 🚀', b: true, by: "b'\\x00\\x01\\xfe\\xff'", d: '2025-01-08', ts: '2025-01-08 06:15:00.123456+00:00',
    dt: '2025-01-08 06:15:00.500000', t: '06:15:00.25', n: '123.456', bn: '12345678901234567890.123', g: 'POINT(1 2)', j: '{"a":[1,2],"b":null}',
    tags: '["a","b"]', nums: '["1","-2"]', rec: '{"a":"7","seen":"2020-02-29 12:00:00.000000 UTC","items":[{"x":"q","ok":"false"}]}',
    recs: '[{"k":"x","v":"0.5"},{"k":"y","v":null}]', req: 1,
  });
  assert.deepEqual(nulls, { i: null, f: null, s: null, b: null, by: null, d: null, ts: null, dt: null, t: null, n: null, bn: null, g: null, j: null, tags: '[]', nums: '[]', rec: null, recs: '[]', req: 2 });
  assert.deepEqual(pythonStrings(out.stored()[0], 'i'), ['42', 'None', '-9007199254740993', '0'], 'INT64 beyond 2^53 exact');
  assert.equal(String(edges.f), 'nan');
  assert.equal(edges.s, '');
  assert.equal(edges.b, false);
  assert.equal(edges.by, "b''");
  assert.equal(edges.d, '0001-01-01');
  assert.equal(edges.ts, '0001-01-01 00:00:00+00:00');
  assert.equal(edges.dt, '9999-12-31 23:59:59.999999');
  assert.equal(edges.j, '"text"');
  assert.equal(edges.tags, '[""]');
  assert.equal(edges.rec, '{"a":null,"seen":"2020-02-29 12:00:00+00","items":[]}', 'a nested timestamp sent as text stays as sent');
  assert.equal(edges.recs, '[{"k":null,"v":"Infinity"}]');
  assert.equal(String(seconds.f), '-inf');
  assert.equal(seconds.ts, '2025-01-08 06:15:00+00:00', 'seconds, where a service ignores useInt64Timestamp');
  assert.equal(seconds.d, '2024-02-29');
});

test('a table served in pages is followed by pageToken; a new part file every rows_per_file rows', async () => {
  const rows = Array.from({ length: 10 }, (_, i) => row(String(i), `name ${i} ✓`));
  pages = {
    '': { rows: rows.slice(0, 4), totalRows: '10', pageToken: 'p2' },
    p2: { rows: rows.slice(4, 7), totalRows: '10', pageToken: 'p3' },
    p3: { rows: rows.slice(7), totalRows: '10' },
  };
  asked.length = 0;
  const out = localParts();
  const progress: number[] = [];
  const schema: BqField[] = [{ name: 'id', type: 'INTEGER', mode: 'REQUIRED' }, { name: 'name', type: 'STRING' }];
  const r = await tableToParquet({ table: table(), newFile: writer(schema, 2), numRows: 10, rowsPerFile: 4, openPart: out.openPart, onProgress: (n) => progress.push(n) });
  assert.equal(r.rows, 10);
  assert.equal(r.pages, 3);
  assert.equal(r.files, 3);
  assert.deepEqual(asked.map((q) => [q.get('pageToken'), q.get('maxResults')]), [[null, '10'], ['p2', '6'], ['p3', '3']]);
  assert.deepEqual(out.parts.map((p) => p.state), ['stored', 'stored', 'stored']);
  assert.deepEqual(out.stored().map((f) => readParquet([f]).rows), [4, 4, 2]);
  const all = readParquet(out.stored());
  assert.equal(all.rows, 10);
  assert.equal(all.sample[1].name, 'name 1 ✓');
  assert.equal(progress.at(-1), 10);
});

test('an empty table: one Parquet file with the schema and no rows', async () => {
  pages = { '': { totalRows: '0' } };
  asked.length = 0;
  const out = localParts();
  const r = await tableToParquet({ table: table(), newFile: writer([{ name: 'id', type: 'INTEGER' }], 10), numRows: 0, rowsPerFile: 10, openPart: out.openPart });
  assert.equal(r.rows, 0);
  assert.equal(asked[0].get('maxResults'), null, 'no maxResults=0 (a page of nothing)');
  const facts = readParquet(out.stored());
  assert.equal(facts.rows, 0);
  assert.deepEqual(facts.columns, ['id']);
});

const schema2: BqField[] = [{ name: 'id', type: 'INTEGER' }, { name: 's', type: 'STRING' }];
const fourRows = Array.from({ length: 4 }, (_, i) => row(String(i), 'x'));

async function failing(p: Record<string, Page>, rowsPerFile = 3): Promise<{ err: unknown; parts: string[] }> {
  pages = p;
  const out = localParts();
  const err = await tableToParquet({ table: table(), newFile: writer(schema2, 2), numRows: 5, rowsPerFile, openPart: out.openPart }).then(
    () => assert.fail('the read should have failed'),
    (e: unknown) => e,
  );
  for (const p of out.parts.filter((x) => x.state === 'discarded')) assert.ok(!fs.existsSync(p.file));
  return { err, parts: out.parts.map((x) => x.state) };
}

test('guard: fewer rows than totalRows is a retryable RowCountMismatch; the open part is discarded', async () => {
  const { err, parts } = await failing({ '': { rows: fourRows, totalRows: '5' } });
  assert.ok(err instanceof TableReadError);
  assert.equal(err.type, 'RowCountMismatch');
  assert.equal(err.retryable, true);
  assert.match(err.message, /announced 5 rows and sent 4/);
  assert.deepEqual(parts, ['stored', 'discarded'], 'the full part was stored (the activity removes it), the open one never');
});

test('guard: a page token answered twice is a permanent BigQueryPagingLoop', async () => {
  const { err } = await failing({ '': { rows: fourRows.slice(0, 2), totalRows: '5', pageToken: 'again' }, again: { rows: fourRows.slice(2), totalRows: '5', pageToken: 'again' } });
  assert.ok(err instanceof TableReadError);
  assert.equal(err.type, 'BigQueryPagingLoop');
  assert.equal(err.retryable, false);
});

test('guard: a body cut off in the middle fails the read; nothing of the open part is stored', async () => {
  const many = Array.from({ length: 200 }, (_, i) => row(String(i), 'y'.repeat(50)));
  const { err, parts } = await failing({ '': { rows: many, totalRows: '200', cut: true } }, 1000);
  assert.ok(err instanceof Error);
  assert.deepEqual(parts, ['discarded']);
});

test('guard: a row with the wrong number of values is refused, naming the counts', async () => {
  const { err, parts } = await failing({ '': { rows: [row('1', 'a'), row('2')], totalRows: '2' } });
  assert.match((err as Error).message, /a row with 1 values for the table's 2 columns/);
  assert.deepEqual(parts, ['discarded']);
});

test("guard: BigQuery's error answer (404) comes back with its code, not as rows", async () => {
  const { err, parts } = await failing({ '': { status: 404, raw: JSON.stringify({ error: { code: 404, message: 'Not found: Table p:d.t', errors: [{ reason: 'notFound', message: 'Not found: Table p:d.t' }] } }) } });
  assert.equal((err as { code?: number }).code, 404);
  assert.match((err as Error).message, /Not found: Table p:d.t/);
  assert.deepEqual(parts, []);
});

test('rowValues: the fast path for plain strings and nulls gives what JSON.parse gives; anything else goes through JSON.parse', () => {
  const cases: RawRow[] = [
    row('1', null, 'plain ✓ 🚀', ''),
    row('a "quote"', 'back\\slash', 'tab\t', '{"v":"not a cell"}'),
    row([{ v: '1' }], { f: [{ v: 'x' }] }, null, '2'),
    row('}', ']', '{"v":', ','),
  ];
  for (const c of cases) assert.deepEqual(rowValues(JSON.stringify(c)), c.f.map((x) => x.v));
  assert.deepEqual(rowValues('{ "f": [ { "v": "1" }, { "v": null } ] }'), ['1', null], 'spaces (a pretty-printed body)');
  assert.throws(() => rowValues('{"g":1}'), /without its values/);
});
