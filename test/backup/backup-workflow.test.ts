/**
 * The backup family on the real stack: the demo dataset (3 tables incl. 200,000 rows, and a view)
 * backed up to SFTP and to a second GCS bucket as Parquet with Snappy that pyarrow reads back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createBigQuery } from '../../src/bigquery/client';
import { BackupWorkflow } from '../../src/backup/workflow';
import { backupWorkflowId, MANIFEST_NAME, stagingPrefix } from '../../src/backup/naming';
import type { BackupManifest } from '../../src/backup/activities';
import { BACKUP_DEMO_ROWS, BACKUP_DEMO_VIEW, BACKUP_OFFSITE_BUCKET } from '../../src/stack/seed-backup';
import { localSftpPath, storage, withWorker } from '../helpers/export';
import { sha256, stack, uniqueId } from '../helpers/stack';
import { BACKUP_DEMO_DATASET, backupTestConfig, downloadGcs, ensurePyarrow, gcsNames, readParquet, stagingBucket } from './helpers';

const DATE = '2025-01-08';
const TABLES = Object.keys(BACKUP_DEMO_ROWS).sort();

async function bigQueryCount(table: string): Promise<number> {
  const info = stack();
  const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
  const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${info.bigquery.projectId}.${BACKUP_DEMO_DATASET}.${table}\`` });
  return Number((rows[0] as { n: number }).n);
}

const EXPECTED_TYPES: Record<string, Record<string, string>> = {
  customers_intl: { id: 'int64', name: 'string', email: 'string', country: 'string', signup_date: 'date32[day]', last_login: 'timestamp[us, tz=UTC]', active: 'bool', balance: 'double' },
  events_big: { event_id: 'int64', event_ts: 'timestamp[us, tz=UTC]', event_date: 'date32[day]', is_mobile: 'bool', value: 'double' },
};

describe('BackupWorkflow', () => {
  before(() => ensurePyarrow());

  test('backs the demo dataset up to SFTP: one manifest per table, Parquet/Snappy that pyarrow reads, view skipped, staging empty', async () => {
    const { config, name } = backupTestConfig({ destination: { type: 'sftp' } });
    const result = await withWorker(config, (client) =>
      client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, DATE), args: [{ backup: name, date: DATE }] }),
    );
    assert.equal(result.dataset, BACKUP_DEMO_DATASET);
    assert.deepEqual(result.tables.filter((t) => t.status === 'error'), []);
    assert.equal(result.success, TABLES.length);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.tables.map((t) => t.table), TABLES);
    assert.deepEqual(result.skipped_views, [BACKUP_DEMO_VIEW]);

    const base = localSftpPath(config.sftp!.directory);
    for (const table of TABLES) {
      const dir = path.join(base, 'GCP/bigquery', BACKUP_DEMO_DATASET, table, DATE);
      const names = fs.readdirSync(dir).sort();
      assert.ok(names.includes(MANIFEST_NAME), `${table}: ${names.join(', ')}`);
      assert.deepEqual(names.filter((n) => n.endsWith('.partial')), []);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as BackupManifest;
      const count = await bigQueryCount(table);
      assert.equal(count, BACKUP_DEMO_ROWS[table]);
      assert.equal(manifest.row_count, count, `${table}: manifest rows`);
      assert.equal(manifest.table, table);
      assert.equal(manifest.format, 'PARQUET');
      assert.equal(manifest.compression, 'SNAPPY');
      assert.ok(manifest.parquet_writer === 'worker' || manifest.parquet_writer === 'bigquery');
      // the worker reads the rows itself (no extract job); BigQuery's own Parquet comes from its extract job
      if (manifest.parquet_writer === 'worker') {
        assert.equal(manifest.row_source, 'tabledata.list');
        assert.deepEqual(manifest.job_ids, []);
      } else {
        assert.equal(manifest.row_source, 'extract');
        assert.ok(manifest.job_ids.length >= 1);
      }
      const files = manifest.files.map((f) => path.join(dir, f.name));
      for (const f of manifest.files) {
        const bytes = fs.readFileSync(path.join(dir, f.name));
        assert.equal(bytes.length, f.size);
        assert.equal(sha256(bytes), f.sha256);
      }
      assert.deepEqual(names.filter((n) => n !== MANIFEST_NAME), manifest.files.map((f) => f.name).sort());
      const facts = readParquet(files);
      assert.equal(facts.rows, count, `${table}: pyarrow rows`);
      assert.deepEqual(facts.columns, manifest.schema.map((f) => f.name));
      assert.deepEqual(facts.compression, ['SNAPPY']);
      for (const [col, type] of Object.entries(EXPECTED_TYPES[table] ?? {})) assert.equal(facts.types[col], type, `${table}.${col}`);
      const staged = await gcsNames(stagingBucket(), stagingPrefix(name, DATE, table));
      assert.deepEqual(staged, [], `${table}: staging left`);
      const outcome = result.tables.find((t) => t.table === table)!;
      assert.equal(outcome.rows, count);
      assert.equal(outcome.parquet_writer, manifest.parquet_writer);
    }
    // unicode strings and NULLs survive
    const customers = readParquet([path.join(base, 'GCP/bigquery', BACKUP_DEMO_DATASET, 'customers_intl', DATE, 'part-00000.parquet')]);
    assert.ok(customers.sample.some((r) => String(r.name).includes('Αλέξης') || String(r.name).includes('Ольга') || String(r.name).includes('山田')), JSON.stringify(customers.sample));
    assert.ok(!fs.existsSync(path.join(base, 'GCP/bigquery', BACKUP_DEMO_DATASET, BACKUP_DEMO_VIEW)));
  });

  test('backs up to a second GCS bucket, narrowed to a list of tables (the seed\'s "tables")', async () => {
    const prefix = uniqueId('offsite');
    const { config, name } = backupTestConfig({
      destination: { type: 'gcs', bucket: BACKUP_OFFSITE_BUCKET },
      path: `${prefix}/{dataset}/{table}/{date}/`,
    });
    const tables = ['customers_intl', 'orders', BACKUP_DEMO_VIEW];
    const result = await withWorker(config, (client) =>
      client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, DATE, tables), args: [{ backup: name, date: DATE, tables }] }),
    );
    assert.equal(result.success, 2);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.skipped_views, [BACKUP_DEMO_VIEW]);
    for (const table of ['customers_intl', 'orders']) {
      const folder = `${prefix}/${BACKUP_DEMO_DATASET}/${table}/${DATE}/`;
      const names = await gcsNames(BACKUP_OFFSITE_BUCKET, folder);
      assert.ok(names.includes(`${folder}${MANIFEST_NAME}`), names.join(', '));
      const [m] = await storage().bucket(BACKUP_OFFSITE_BUCKET).file(`${folder}${MANIFEST_NAME}`).download();
      const manifest = JSON.parse(m.toString('utf8')) as BackupManifest;
      assert.equal(manifest.row_count, BACKUP_DEMO_ROWS[table]);
      const local = await downloadGcs(BACKUP_OFFSITE_BUCKET, manifest.files.map((f) => `${folder}${f.name}`));
      local.forEach((f, i) => assert.equal(sha256(fs.readFileSync(f)), manifest.files[i].sha256));
      const facts = readParquet(local);
      assert.equal(facts.rows, BACKUP_DEMO_ROWS[table]);
      assert.deepEqual(facts.columns, manifest.schema.map((f) => f.name));
      assert.deepEqual(facts.compression, ['SNAPPY']);
      assert.deepEqual(await gcsNames(stagingBucket(), stagingPrefix(name, DATE, table)), []);
    }
  });

  test('a table of every type the emulator stores: the worker reads it with tabledata.list and pyarrow reads the values back', async () => {
    const info = stack();
    const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
    const dataset = uniqueId('bk_types').replace(/-/g, '_');
    const ds = bq.dataset(dataset);
    await ds.create();
    try {
      const fields = [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' }, { name: 'f', type: 'FLOAT' }, { name: 's', type: 'STRING' }, { name: 'b', type: 'BOOLEAN' },
        { name: 'by', type: 'BYTES' }, { name: 'd', type: 'DATE' }, { name: 'ts', type: 'TIMESTAMP' }, { name: 'dt', type: 'DATETIME' }, { name: 't', type: 'TIME' },
        { name: 'n', type: 'NUMERIC' }, { name: 'bn', type: 'BIGNUMERIC' }, { name: 'g', type: 'GEOGRAPHY' }, { name: 'j', type: 'JSON' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
        { name: 'rec', type: 'RECORD', fields: [{ name: 'a', type: 'INTEGER' }, { name: 'seen', type: 'TIMESTAMP' }, { name: 'x', type: 'STRING' }] },
        { name: 'recs', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 'k', type: 'STRING' }, { name: 'v', type: 'FLOAT' }] },
      ];
      // a table name of its own: the emulator keeps RECORD types by table name across datasets
      const tableId = uniqueId('all_types').replace(/-/g, '_');
      const [table] = await ds.createTable(tableId, { schema: { fields } });
      await table.insert([
        { id: 1, f: 1.5, s: 'Zoë "q" 山田 🚀', b: true, by: 'aGk=', d: '2025-01-08', ts: '2025-01-08 06:15:00.123456 UTC', dt: '2025-01-08T06:15:00.5', t: '06:15:00.25',
          n: '123.456', bn: '12345678901234567890.123', g: 'POINT(1 2)', j: '{"a":[1,2]}', tags: ['a', 'b'], rec: { a: 7, seen: '2020-02-29 12:00:00 UTC', x: 'q' }, recs: [{ k: 'x', v: 0.5 }, { k: 'y', v: null }] },
        { id: 2, tags: [], recs: [] },
        { id: '-9007199254740993', f: -0.25, s: '', b: false, d: '0001-01-01', ts: '0001-01-01 00:00:00 UTC', dt: '9999-12-31T23:59:59.999999' },
      ]);
      const { config, name } = backupTestConfig({ dataset, destination: { type: 'sftp' }, parquet_writer: 'worker' });
      const result = await withWorker(config, (client) =>
        client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, DATE), args: [{ backup: name, date: DATE }] }),
      );
      assert.equal(result.success, 1, JSON.stringify(result));
      const dir = path.join(localSftpPath(config.sftp!.directory), 'GCP/bigquery', dataset, tableId, DATE);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as BackupManifest;
      assert.equal(manifest.parquet_writer, 'worker');
      assert.equal(manifest.row_source, 'tabledata.list');
      assert.deepEqual(manifest.job_ids, [], 'no extract job');
      assert.equal(manifest.seconds.extract, 0);
      assert.equal(manifest.row_count, 3);
      const facts = readParquet(manifest.files.map((f) => path.join(dir, f.name)));
      assert.equal(facts.rows, 3);
      assert.deepEqual(facts.columns, fields.map((f) => f.name));
      assert.deepEqual(
        [facts.types.id, facts.types.f, facts.types.b, facts.types.by, facts.types.d, facts.types.ts, facts.types.dt, facts.types.rec],
        ['int64', 'double', 'bool', 'binary', 'date32[day]', 'timestamp[us, tz=UTC]', 'timestamp[us]', 'extension<arrow.json>'],
      );
      const [full, empty] = [1, 2].map((id) => facts.sample.find((r) => r.id === id)!);
      const edges = facts.sample.find((r) => r.id !== 1 && r.id !== 2)!;
      assert.deepEqual(full, {
        id: 1, f: 1.5, s: 'Zoë "q" 山田 🚀', b: true,
        by: "b'aGk='", // the emulator's insertAll keeps the base64 text itself as the bytes (tabledata sends base64 of that): what it says the column holds
        d: '2025-01-08', ts: '2025-01-08 06:15:00.123456+00:00', dt: '2025-01-08 06:15:00.500000', t: '06:15:00.25', n: '123.456', bn: '12345678901234567890.123',
        g: 'POINT(1 2)', j: '{"a":[1,2]}', tags: '["a","b"]', rec: '{"a":"7","seen":"2020-02-29 12:00:00+00","x":"q"}', recs: '[{"k":"x","v":"0.5"},{"k":"y","v":null}]',
      });
      assert.deepEqual(empty, { id: 2, f: null, s: null, b: null, by: null, d: null, ts: null, dt: null, t: null, n: null, bn: null, g: null, j: null, tags: '[]', rec: null, recs: '[]' });
      assert.deepEqual([edges.f, edges.s, edges.b, edges.d, edges.ts, edges.dt], [-0.25, '', false, '0001-01-01', '0001-01-01 00:00:00+00:00', '9999-12-31 23:59:59.999999']);
    } finally {
      await ds.delete({ force: true }).catch(() => undefined);
    }
  });

  after(() => undefined);
});
