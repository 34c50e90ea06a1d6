/**
 * openSqlite inserts rows many per statement (db.ts multiRowInsert): every row lands with its own
 * values whatever the count (full statements, a remainder, fewer than one statement), and a key
 * repeated inside one statement keeps the later row, as separate statements would. The connection's
 * settings (WAL, statement journals in memory) are what the load relies on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqlite, sqliteConnection, type DlqRow, type ProcessedRow, type RawRow } from '../../src/etl/db';

function tmpDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-multirow-')), 'etl.db');
}

for (const n of [1, 49, 50, 51, 123]) {
  test(`${n} rows of each table: each row stored with its own values`, async () => {
    const file = tmpDb();
    const db = openSqlite(file);
    const raw: RawRow[] = Array.from({ length: n }, (_, i) => ({ line: i + 1, id: String(1000 + i), data: `{"id":${1000 + i}}` }));
    const processed: ProcessedRow[] = Array.from({ length: n }, (_, i) => ({ id: String(1000 + i), data: `{"id":${1000 + i},"n":${i}}`, department_code: i % 2 ? `D${i}` : null }));
    const dlq: DlqRow[] = Array.from({ length: n }, (_, i) => ({ line: i + 1, id: null, error_reason: `reason ${i}`, rule: `f${i}:rule`, data: `[${i}]` }));
    await db.loadRun('p', '20260101_000000', { replace: true }, async (sink) => {
      await sink.raw(raw);
      await sink.processed(processed);
      await sink.dlq(dlq);
    });
    await db.close();
    const check = new Database(file, { readonly: true });
    try {
      assert.deepEqual(check.prepare('SELECT line, id, data FROM raw_users ORDER BY line').all(), raw);
      assert.deepEqual(check.prepare('SELECT id, data, department_code FROM processed_users ORDER BY CAST(id AS INTEGER)').all(), processed);
      assert.deepEqual(check.prepare('SELECT line, id, error_reason, rule, data FROM dlq_users ORDER BY line').all(), dlq);
    } finally {
      check.close();
    }
  });
}

test('a key repeated within one statement keeps the later row', async () => {
  const file = tmpDb();
  const db = openSqlite(file);
  // 60 rows: the first 50 go in one statement; ids 7 and 30 appear twice in it
  const processed: ProcessedRow[] = Array.from({ length: 60 }, (_, i) => ({ id: String(i), data: `first ${i}`, department_code: null }));
  processed[40] = { id: '7', data: 'later 7', department_code: 'X' };
  processed[45] = { id: '30', data: 'later 30', department_code: 'Y' };
  await db.loadRun('p', '20260101_000000', { replace: true }, async (sink) => sink.processed(processed));
  const counts = await db.counts('p', '20260101_000000');
  await db.close();
  const check = new Database(file, { readonly: true });
  try {
    assert.equal(counts.processed, 58);
    assert.deepEqual(check.prepare("SELECT data, department_code FROM processed_users WHERE id IN ('7', '30') ORDER BY CAST(id AS INTEGER)").all(), [
      { data: 'later 7', department_code: 'X' },
      { data: 'later 30', department_code: 'Y' },
    ]);
  } finally {
    check.close();
  }
});

test('the ETL connection is WAL with its statement journals in memory (not a temp file written page by page)', () => {
  const db = sqliteConnection(tmpDb());
  try {
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL');
    assert.equal(db.pragma('temp_store', { simple: true }), 2, 'MEMORY');
  } finally {
    db.close();
  }
});
