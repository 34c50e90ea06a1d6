import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvReader } from '../../src/ingest/csv';
import { globToRegExp } from '../../src/ingest/report-files';
import { newestMatch } from '../../src/ingest/load-file';
import { timeoutMessage, ingestJobId } from '../../src/ingest/job';

function parseAll(text: string, chunk = 3, d = ',') {
  const r = new CsvReader(d);
  const out = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...r.push(text.slice(i, i + chunk)));
  out.push(...r.end());
  return out.map((x) => [x.line, ...x.fields]);
}

test('CSV reader: quotes, escaped quotes, CRLF, newlines inside quotes, line numbers, any chunking', () => {
  const text = 'a,b,c\r\n1,"x, y",z\r\n2,"he said ""hi""",\n3,"two\nlines",q\n\n4,last,row';
  for (const chunk of [1, 2, 3, 7, 1000]) {
    assert.deepEqual(parseAll(text, chunk), [
      [1, 'a', 'b', 'c'],
      [2, '1', 'x, y', 'z'],
      [3, '2', 'he said "hi"', ''],
      [4, '3', 'two\nlines', 'q'],
      [7, '4', 'last', 'row'],
    ]);
  }
  assert.deepEqual(parseAll('a\tb\n1\t2\n', 4, '\t'), [[1, 'a', 'b'], [2, '1', '2']]);
  assert.throws(() => parseAll('a,"open\n'), /line 1: a quoted field is not closed/);
});

test('file patterns and the newest match; job IDs and the timeout message', () => {
  const re = globToRegExp('users_*.csv');
  assert.ok(re.test('users_20250131.csv'));
  assert.ok(!re.test('users_20250131.csv.bak'));
  assert.ok(!re.test('xusers_1.csv'));
  assert.ok(globToRegExp('a?.c+v').test('ab.c+v'));
  const e = (name: string, mtime: string) => ({ name, type: 'file' as const, size: 1, mode: 0o644, mtime: new Date(mtime) });
  assert.equal(newestMatch([e('users_1.csv', '2025-01-01'), e('users_2.csv', '2025-01-02'), e('other.csv', '2025-02-01')], 'users_*.csv')?.name, 'users_2.csv');
  assert.equal(newestMatch([e('users_1.csv', '2025-01-01'), e('users_2.csv', '2025-01-01')], 'users_*.csv')?.name, 'users_2.csv', 'same mtime: the greatest name');
  assert.equal(newestMatch([e('x.csv', '2025-01-01')], 'users_*.csv'), undefined);
  assert.equal(timeoutMessage(1800), 'Job timed out after 30 minutes');
  assert.equal(timeoutMessage(3), 'Job timed out after 3 seconds');
  assert.equal(ingestJobId(new Date('2024-02-01T08:00:00Z'), 'abc123'), 'job_20240201_abc123');
});
