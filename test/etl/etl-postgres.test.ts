/**
 * The PostgreSQL alternative: the same pipeline with `database.postgres_url` loads the three
 * tables in the stack's PostgreSQL; a rerun replaces the run's rows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client as PgClient } from 'pg';
import { startEtlRun } from '../../src/etl/starter';
import { startUsersApi, type UsersApi } from '../../src/etl/users-api-server';
import { DEPARTMENTS, expectedOutcome } from '../../src/etl/users-data';
import { withWorker } from '../helpers/export';
import { stack } from '../helpers/stack';
import { etlConfig, tmpDir, uniqueId } from './helpers';

describe('EtlWorkflow into PostgreSQL', () => {
  const dir = tmpDir('etl-pg');
  const name = uniqueId('pg').replace(/-/g, '_');
  const pg = stack().postgres;
  const url = `postgres://${pg.user}@${pg.host}:${pg.port}/${pg.database}`;
  let api: UsersApi;
  let db: PgClient;
  before(async () => {
    api = await startUsersApi({ total: 2000 });
    db = new PgClient({ connectionString: url });
    await db.connect();
  });
  after(async () => {
    for (const t of ['raw_users', 'processed_users', 'dlq_users']) await db.query(`DELETE FROM ${t} WHERE pipeline = $1`, [name]).catch(() => undefined);
    await db.end();
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads raw_users / processed_users / dlq_users with the seed\'s columns; a rerun replaces the rows', async () => {
    const config = etlConfig({ name, url: api.url, dir, pipeline: { database: { postgres_url: url } } });
    const stamp = '20250104_030000';
    const count = async (t: string) => Number((await db.query(`SELECT count(*) AS n FROM ${t} WHERE pipeline = $1 AND run_id = $2`, [name, stamp])).rows[0].n);
    await withWorker(config, async (client) => {
      const r = await (await startEtlRun(client, config, { pipeline: name, stamp })).result();
      assert.equal(r.database, 'postgres');
      const want = expectedOutcome(2000);
      assert.deepEqual([await count('raw_users'), await count('processed_users'), await count('dlq_users')], [2000, want.valid, want.invalid]);
      const again = await (await startEtlRun(client, config, { pipeline: name, stamp })).result();
      assert.deepEqual(again.counts, r.counts);
      assert.deepEqual([await count('raw_users'), await count('processed_users'), await count('dlq_users')], [2000, want.valid, want.invalid]);
    });
    const codes = new Map(DEPARTMENTS.map((d) => [d.department, d.code]));
    const rows = (await db.query('SELECT id, inserted_at, data, department_code FROM processed_users WHERE pipeline = $1 AND run_id = $2', [name, stamp])).rows as { data: string; department_code: string }[];
    for (const row of rows) assert.equal(row.department_code, codes.get((JSON.parse(row.data) as { company: { department: string } }).company.department));
    const dead = (await db.query('SELECT id, inserted_at, error_reason, data FROM dlq_users WHERE pipeline = $1 AND run_id = $2 ORDER BY line LIMIT 1', [name, stamp])).rows[0] as { error_reason: string };
    assert.match(dead.error_reason, /^age: max — must be at most 65/);
  });
});
