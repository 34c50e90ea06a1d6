import type pg from 'pg';

export interface Migration {
  /** increasing, never reused */
  version: number;
  name: string;
  sql: string;
}

export interface MigrateResult {
  applied: { version: number; name: string }[];
  current: number;
}

/** An arbitrary constant: every migrator takes this advisory lock, so concurrent workers apply each migration once. */
const LOCK_KEY = 0x6271_7366; // 'bqsf'

/**
 * Applies the migrations not applied yet, each in its own transaction, under an advisory lock.
 * Idempotent: run it at every worker start.
 */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[], table = 'schema_migrations'): Promise<MigrateResult> {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`migrations table name ${JSON.stringify(table)} is not a plain identifier`);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${table}`);
      const done = new Set(rows.map((r) => r.version));
      const applied: MigrateResult['applied'] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push({ version: m.version, name: m.name });
      }
      const current = Math.max(0, ...migrations.map((m) => m.version).filter((v) => done.has(v) || applied.some((a) => a.version === v)));
      return { applied, current };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
