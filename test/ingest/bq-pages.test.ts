import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringDecoder } from 'node:string_decoder';
import { RowsScanner, type RawRow } from '../../src/ingest/bq-pages';
import { copyLine, copyLineFromJson } from '../../src/ingest/load-events';

const ROWS: RawRow[] = [
  { f: [{ v: '2025-01-01' }, { v: '1735689600000000' }, { v: 'a "quoted" value, with {braces} and [brackets]' }, { v: null }] },
  { f: [{ v: '2025-01-01' }, { v: '1' }, { v: 'back\\slash \\" and a tab\there\nnew line' }, { v: 'ünïcødé ✓ 𝄞' }] },
  { f: [{ v: '2025-01-02' }, { v: '2' }, { v: '}]}]' }, { v: [{ v: { f: [{ v: 'nested' }] } }] }] },
];

function body(rows: RawRow[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'bigquery#getQueryResultsResponse',
    jobReference: { projectId: 'p', jobId: 'j' },
    schema: { fields: [{ name: 'event_date', type: 'DATE' }, { name: 'rows', type: 'STRING', fields: [] }] },
    rows,
    totalRows: String(rows.length),
    jobComplete: true,
    ...extra,
  }, null, 1);
}

/** Feeds the body in pieces of `size` bytes (splitting multi-byte characters) as the HTTP stream does. */
function scan(text: string, size: number): { rows: RawRow[]; meta: ReturnType<RowsScanner['meta']> } {
  const bytes = Buffer.from(text);
  const decoder = new StringDecoder('utf8');
  const scanner = new RowsScanner();
  const rows: RawRow[] = [];
  for (let i = 0; i < bytes.length; i += size) rows.push(...scanner.push(decoder.write(bytes.subarray(i, i + size))));
  rows.push(...scanner.push(decoder.end()));
  return { rows, meta: scanner.meta() };
}

test('RowsScanner: rows of a getQueryResults body arrive one by one whatever the piece size; the rest is the page metadata', () => {
  const text = body(ROWS, { pageToken: '3' });
  for (const size of [1, 2, 3, 7, 64, 1000, text.length]) {
    const { rows, meta } = scan(text, size);
    assert.deepEqual(rows, ROWS, `pieces of ${size} bytes`);
    assert.equal(meta.pageToken, '3');
    assert.equal(meta.jobComplete, true);
    assert.equal(meta.totalRows, '3');
    assert.deepEqual((meta as { rows?: unknown }).rows, [], 'the metadata holds no rows');
  }
});

test('RowsScanner: a page without rows (an unfinished job, an empty range) and a body with rows after the token', () => {
  const unfinished = scan(JSON.stringify({ jobReference: { jobId: 'j' }, jobComplete: false }), 5);
  assert.deepEqual(unfinished.rows, []);
  assert.equal(unfinished.meta.jobComplete, false);
  const late = scan(JSON.stringify({ pageToken: 'x', totalRows: '1', rows: [ROWS[0]] }), 4);
  assert.deepEqual(late.rows, [ROWS[0]]);
  assert.equal(late.meta.pageToken, 'x');
  // a value that merely looks like the key at another depth is not the rows array
  const decoy = scan(JSON.stringify({ schema: { fields: [{ name: 'rows' }], rows: [1] }, rows: [ROWS[1]] }), 3);
  assert.deepEqual(decoy.rows, [ROWS[1]]);
});

test('RowsScanner: a body cut off in the middle is an error, not a short page', () => {
  const text = body(ROWS);
  const scanner = new RowsScanner();
  scanner.push(text.slice(0, Math.floor(text.length / 2)));
  assert.throws(() => scanner.meta(), /ended in the middle/);
});

test('copyLine: COPY text escapes backslash, tab, newline; null is \\N; nested values are JSON', () => {
  assert.equal(copyLine('t1\t', ROWS[1].f), 't1\t2025-01-01\t1\tback\\\\slash \\\\" and a tab\\there\\nnew line\tünïcødé ✓ 𝄞\n');
  assert.equal(copyLine('t1\t', ROWS[0].f).split('\t')[4], '\\N\n');
});

test('copyLineFromJson: the row text straight to its COPY line and date, the same as parsing it first (plain, escaped, null, nested, spaced)', () => {
  const rows: RawRow[] = [...ROWS, { f: [{ v: '2025-01-03' }, { v: '' }, { v: 'tab\tinside' }, { v: 'quote " inside' }] }, { f: [{ v: '2025-01-03' }, { v: 'x {"v":"y"} z' }] }];
  for (const row of rows) {
    for (const json of [JSON.stringify(row), JSON.stringify(row, null, 1)]) {
      assert.deepEqual(copyLineFromJson('t1\t', json), { date: row.f[0].v, line: copyLine('t1\t', row.f) }, json);
    }
  }
});
