import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBigQuery } from '../../src/bigquery/client';
import { createStorage } from '../../src/gcs/client';
import { CUSTOMERS, DEMO_DATE, EVENT_TYPES, PRODUCTS_PER_DAY } from '../../src/stack/demo-data';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();
const bq = () => createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
const storage = () => createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
const table = (t: string) => `\`${info.bigquery.projectId}.${info.bigquery.dataset}.${t}\``;

test('BigQuery emulator answers queries over the seeded demo dataset', async () => {
  const [products] = await bq().query({
    query: `SELECT COUNT(*) AS n FROM ${table('products')} WHERE DATE(created_at) = @d`,
    params: { d: bq().date(DEMO_DATE) },
  });
  assert.equal(products[0].n, PRODUCTS_PER_DAY);
  const [customers] = await bq().query(`SELECT COUNT(*) AS n FROM ${table('customers')}`);
  assert.equal(customers[0].n, CUSTOMERS);
  const [types] = await bq().query(`SELECT DISTINCT event_name FROM ${table('events')} ORDER BY event_name`);
  assert.deepEqual(types.map((r: { event_name: string }) => r.event_name), [...EVENT_TYPES].sort());
});

test('EXPORT DATA on the BigQuery emulator writes an object to the GCS emulator', async () => {
  const prefix = `${uniqueId('stack-test')}/20250108/`;
  const [job] = await bq().createQueryJob({
    query: `EXPORT DATA OPTIONS(uri='gs://${info.gcs.bucket}/${prefix}P_20250108-*.csv', format='CSV', header=true, overwrite=true)
            AS SELECT id, name FROM ${table('products')} WHERE DATE(created_at) = @d ORDER BY id`,
    params: { d: bq().date(DEMO_DATE) },
  });
  await job.getQueryResults();
  const [files] = await storage().bucket(info.gcs.bucket).getFiles({ prefix });
  assert.deepEqual(files.map((f) => f.name), [`${prefix}P_20250108-000000000000.csv`]);
  const [content] = await files[0].download();
  const lines = content.toString('utf8').trim().split('\n');
  assert.equal(lines[0], 'id,name');
  assert.equal(lines.length, PRODUCTS_PER_DAY + 1);
});

test('an object written to the GCS emulator reads back byte for byte', async () => {
  const name = `${uniqueId('roundtrip')}/blob.bin`;
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  const file = storage().bucket(info.gcs.bucket).file(name);
  await file.save(data, { resumable: false });
  const [back] = await file.download();
  assert.ok(back.equals(data));
  const [meta] = await file.getMetadata();
  assert.equal(Number(meta.size), data.length);
  await file.delete();
});
