import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { stack, uniqueId } from '../helpers/stack';

test('PostgreSQL round trip on the stack database', async () => {
  const { postgres } = stack();
  const client = new Client({ host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database });
  await client.connect();
  const table = uniqueId('roundtrip').replace('-', '_');
  try {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
    await client.query(`INSERT INTO ${table} VALUES ($1, $2), ($3, $4) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, [1, 'a', 2, 'b']);
    await client.query(`INSERT INTO ${table} VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, [2, 'b2']);
    const { rows } = await client.query(`SELECT id, name FROM ${table} ORDER BY id`);
    assert.deepEqual(rows, [{ id: 1, name: 'a' }, { id: 2, name: 'b2' }]);
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  }
});
