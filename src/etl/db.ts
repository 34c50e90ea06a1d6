/**
 * The ETL's database: the seed's three tables (raw_users, processed_users, dlq_users with their
 * columns id, inserted_at, data, department_code, error_reason), plus the pipeline and run they
 * belong to. A run's rows are replaced as a whole inside one transaction (delete the run's rows,
 * insert), so a retried or rerun save never duplicates and a killed one leaves the old rows.
 * SQLite (better-sqlite3) by default; PostgreSQL by URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

// The native SQLite module and the PostgreSQL client load on first use: a worker that runs no
// ETL save (or an idle one) does not pay for them.
let sqliteModule: typeof BetterSqlite3 | undefined;
function sqlite(): typeof BetterSqlite3 {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sqliteModule ??= require('better-sqlite3') as typeof BetterSqlite3);
}

export interface RawRow {
  line: number;
  id: string | null;
  data: string;
}
export interface ProcessedRow {
  id: string;
  data: string;
  department_code: string | null;
}
export interface DlqRow {
  line: number;
  id: string | null;
  error_reason: string;
  rule: string;
  data: string;
}

export interface RunSink {
  raw(rows: RawRow[]): Promise<void>;
  processed(rows: ProcessedRow[]): Promise<void>;
  dlq(rows: DlqRow[]): Promise<void>;
  /** dead letters of the run that a replay recovered */
  removeDlq(lines: number[]): Promise<void>;
}

export interface StoredDeadLetter extends DlqRow {
  pipeline: string;
  run_id: string;
  inserted_at: string;
}

export interface TableCounts {
  raw: number;
  processed: number;
  dlq: number;
}

export interface EtlDb {
  readonly kind: 'sqlite' | 'postgres';
  /** runs `load` in one transaction; with `replace`, the run's rows are deleted first */
  loadRun(pipeline: string, runId: string, opts: { replace: boolean }, load: (sink: RunSink) => Promise<void>): Promise<void>;
  counts(pipeline: string, runId: string): Promise<TableCounts>;
  /** rows per (pipeline, run_id, id) or line that occur more than once: 0 by construction */
  duplicates(pipeline: string, runId: string): Promise<number>;
  deadLetters(pipeline: string, runId?: string, limit?: number): Promise<StoredDeadLetter[]>;
  processedIds(pipeline: string, runId: string): Promise<string[]>;
  close(): Promise<void>;
}

export const DDL = [
  `CREATE TABLE IF NOT EXISTS raw_users (pipeline TEXT NOT NULL, run_id TEXT NOT NULL, line INTEGER NOT NULL, id TEXT,
     inserted_at TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (pipeline, run_id, line))`,
  `CREATE TABLE IF NOT EXISTS processed_users (pipeline TEXT NOT NULL, run_id TEXT NOT NULL, id TEXT NOT NULL,
     inserted_at TEXT NOT NULL, data TEXT NOT NULL, department_code TEXT, PRIMARY KEY (pipeline, run_id, id))`,
  `CREATE TABLE IF NOT EXISTS dlq_users (pipeline TEXT NOT NULL, run_id TEXT NOT NULL, line INTEGER NOT NULL, id TEXT,
     inserted_at TEXT NOT NULL, error_reason TEXT NOT NULL, rule TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (pipeline, run_id, line))`,
];

const ROWS_PER_STATEMENT = 50;

/**
 * `INSERT OR REPLACE` of many rows: ROWS_PER_STATEMENT rows per statement, the rest one by one
 * (a quarter less CPU per row than a statement per row: better-sqlite3's per-call cost). Rows of
 * one statement replace each other in order, as separate statements would.
 */
function multiRowInsert<R>(db: BetterSqlite3.Database, table: string, cols: string[]): (rows: R[], args: (row: R, into: unknown[]) => void) => void {
  const sql = (n: number) => `INSERT OR REPLACE INTO ${table} (${cols.join(', ')}) VALUES ${Array(n).fill(`(${cols.map(() => '?').join(', ')})`).join(', ')}`;
  const many = db.prepare(sql(ROWS_PER_STATEMENT));
  const one = db.prepare(sql(1));
  return (rows, args) => {
    const values: unknown[] = [];
    let i = 0;
    for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
      values.length = 0;
      for (let j = i; j < i + ROWS_PER_STATEMENT; j++) args(rows[j], values);
      many.run(values);
    }
    for (; i < rows.length; i++) {
      values.length = 0;
      args(rows[i], values);
      one.run(values);
    }
  };
}

/** A connection to the pipeline's SQLite file as every ETL step opens it (WAL, the settings below). */
export function sqliteConnection(file: string): BetterSqlite3.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const Database = sqlite();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 30000');
  db.pragma('synchronous = NORMAL');
  // the multi-row INSERT OR REPLACE keeps a statement journal (a statement can fail half way and is
  // rolled back alone): in memory it is a copy per page, in a temp file it was 84,000 write calls per
  // 100,000-record run
  db.pragma('temp_store = MEMORY');
  return db;
}

export function openSqlite(file: string): EtlDb {
  const db = sqliteConnection(file);
  for (const d of DDL) db.exec(d);
  const now = () => new Date().toISOString();
  const insRaw = multiRowInsert<RawRow>(db, 'raw_users', ['pipeline', 'run_id', 'line', 'id', 'inserted_at', 'data']);
  const insProc = multiRowInsert<ProcessedRow>(db, 'processed_users', ['pipeline', 'run_id', 'id', 'inserted_at', 'data', 'department_code']);
  const insDlq = multiRowInsert<DlqRow>(db, 'dlq_users', ['pipeline', 'run_id', 'line', 'id', 'inserted_at', 'error_reason', 'rule', 'data']);
  const delDlq = db.prepare('DELETE FROM dlq_users WHERE pipeline = ? AND run_id = ? AND line = ?');
  return {
    kind: 'sqlite',
    async loadRun(pipeline, runId, opts, load) {
      db.exec('BEGIN IMMEDIATE');
      try {
        if (opts.replace) for (const t of ['raw_users', 'processed_users', 'dlq_users']) db.prepare(`DELETE FROM ${t} WHERE pipeline = ? AND run_id = ?`).run(pipeline, runId);
        const at = now();
        await load({
          // prepared statements inside the one open transaction (no savepoint per batch)
          raw: async (rows) => insRaw(rows, (r, a) => a.push(pipeline, runId, r.line, r.id, at, r.data)),
          processed: async (rows) => insProc(rows, (r, a) => a.push(pipeline, runId, r.id, at, r.data, r.department_code)),
          dlq: async (rows) => insDlq(rows, (r, a) => a.push(pipeline, runId, r.line, r.id, at, r.error_reason, r.rule, r.data)),
          removeDlq: async (lines) => {
            for (const l of lines) delDlq.run(pipeline, runId, l);
          },
        });
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    },
    async counts(pipeline, runId) {
      const c = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t} WHERE pipeline = ? AND run_id = ?`).get(pipeline, runId) as { n: number }).n;
      return { raw: c('raw_users'), processed: c('processed_users'), dlq: c('dlq_users') };
    },
    async duplicates(pipeline, runId) {
      const q = (t: string, k: string) =>
        (db.prepare(`SELECT count(*) AS n FROM (SELECT ${k} FROM ${t} WHERE pipeline = ? AND run_id = ? GROUP BY ${k} HAVING count(*) > 1)`).get(pipeline, runId) as { n: number }).n;
      return q('raw_users', 'line') + q('processed_users', 'id') + q('dlq_users', 'line');
    },
    async deadLetters(pipeline, runId, limit = 1_000_000) {
      const sql = `SELECT pipeline, run_id, line, id, inserted_at, error_reason, rule, data FROM dlq_users WHERE pipeline = ?${runId ? ' AND run_id = ?' : ''} ORDER BY run_id, line LIMIT ?`;
      return db.prepare(sql).all(...(runId ? [pipeline, runId, limit] : [pipeline, limit])) as StoredDeadLetter[];
    },
    async processedIds(pipeline, runId) {
      return (db.prepare('SELECT id FROM processed_users WHERE pipeline = ? AND run_id = ?').pluck().all(pipeline, runId) as string[]);
    },
    async close() {
      db.close();
    },
  };
}

export async function openPostgres(url: string, password?: string): Promise<EtlDb> {
  const { Client: PgClient } = await import('pg');
  const client = new PgClient({ connectionString: url, ...(password ? { password } : {}) });
  await client.connect();
  // one DDL at a time: concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL
  await client.query('SELECT pg_advisory_lock(7002)');
  try {
    for (const d of DDL) await client.query(d.replace(/INTEGER/g, 'BIGINT'));
  } finally {
    await client.query('SELECT pg_advisory_unlock(7002)');
  }
  const insertMany = async (table: string, cols: string[], rows: unknown[][], conflict: string) => {
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const params: unknown[] = [];
      const values = chunk.map((r) => `(${r.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`).join(', ');
      const updates = cols.filter((c) => !conflict.includes(c)).map((c) => `${c} = EXCLUDED.${c}`).join(', ');
      await client.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${values} ON CONFLICT (${conflict}) DO UPDATE SET ${updates}`, params);
    }
  };
  return {
    kind: 'postgres',
    async loadRun(pipeline, runId, opts, load) {
      await client.query('BEGIN');
      try {
        if (opts.replace) for (const t of ['raw_users', 'processed_users', 'dlq_users']) await client.query(`DELETE FROM ${t} WHERE pipeline = $1 AND run_id = $2`, [pipeline, runId]);
        const at = new Date().toISOString();
        await load({
          raw: (rows) => insertMany('raw_users', ['pipeline', 'run_id', 'line', 'id', 'inserted_at', 'data'], rows.map((r) => [pipeline, runId, r.line, r.id, at, r.data]), 'pipeline, run_id, line'),
          processed: (rows) =>
            insertMany('processed_users', ['pipeline', 'run_id', 'id', 'inserted_at', 'data', 'department_code'], rows.map((r) => [pipeline, runId, r.id, at, r.data, r.department_code]), 'pipeline, run_id, id'),
          dlq: (rows) =>
            insertMany('dlq_users', ['pipeline', 'run_id', 'line', 'id', 'inserted_at', 'error_reason', 'rule', 'data'], rows.map((r) => [pipeline, runId, r.line, r.id, at, r.error_reason, r.rule, r.data]), 'pipeline, run_id, line'),
          removeDlq: async (lines) => void (await client.query('DELETE FROM dlq_users WHERE pipeline = $1 AND run_id = $2 AND line = ANY($3)', [pipeline, runId, lines])),
        });
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async counts(pipeline, runId) {
      const c = async (t: string) => Number((await client.query(`SELECT count(*) AS n FROM ${t} WHERE pipeline = $1 AND run_id = $2`, [pipeline, runId])).rows[0].n);
      return { raw: await c('raw_users'), processed: await c('processed_users'), dlq: await c('dlq_users') };
    },
    async duplicates(pipeline, runId) {
      const q = async (t: string, k: string) =>
        Number((await client.query(`SELECT count(*) AS n FROM (SELECT ${k} FROM ${t} WHERE pipeline = $1 AND run_id = $2 GROUP BY ${k} HAVING count(*) > 1) d`, [pipeline, runId])).rows[0].n);
      return (await q('raw_users', 'line')) + (await q('processed_users', 'id')) + (await q('dlq_users', 'line'));
    },
    async deadLetters(pipeline, runId, limit = 1_000_000) {
      const sql = `SELECT pipeline, run_id, line::int AS line, id, inserted_at, error_reason, rule, data FROM dlq_users WHERE pipeline = $1${runId ? ' AND run_id = $3' : ''} ORDER BY run_id, line LIMIT $2`;
      return (await client.query(sql, runId ? [pipeline, limit, runId] : [pipeline, limit])).rows as StoredDeadLetter[];
    },
    async processedIds(pipeline, runId) {
      return (await client.query('SELECT id FROM processed_users WHERE pipeline = $1 AND run_id = $2', [pipeline, runId])).rows.map((r: { id: string }) => r.id);
    },
    close: () => client.end(),
  };
}

export async function openEtlDb(database: { sqlite_path?: string; postgres_url?: string; postgres_password?: string }, defaultSqlite: string): Promise<EtlDb> {
  if (database.postgres_url) return openPostgres(database.postgres_url, database.postgres_password);
  return openSqlite(database.sqlite_path ?? defaultSqlite);
}
