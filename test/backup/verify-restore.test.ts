/**
 * `backup verify` catches a file altered at the destination; `backup restore` loads a backup
 * back into BigQuery and the row counts match the manifests.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { createBigQuery } from '../../src/bigquery/client';
import { BackupRestoreWorkflow, BackupVerifyWorkflow, BackupWorkflow } from '../../src/backup/workflow';
import { backupRestoreWorkflowId, backupVerifyWorkflowId, backupWorkflowId, MANIFEST_NAME } from '../../src/backup/naming';
import { localSftpPath, withWorker } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';
import { BACKUP_DEMO_ROWS } from '../../src/stack/seed-backup';
import { BACKUP_DEMO_DATASET, backupTestConfig } from './helpers';

const DATE = '2025-03-01';
const TABLES = ['customers_intl', 'orders'];

describe('backup verify and restore', () => {
  let config: Config;
  let name: string;
  before(async () => {
    ({ config, name } = backupTestConfig({ destination: { type: 'sftp' }, tables: TABLES }));
    const r = await withWorker(config, (client) =>
      client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, DATE), args: [{ backup: name, date: DATE }] }),
    );
    assert.equal(r.success, TABLES.length);
  });

  const verify = (client: Client, id = uniqueId('v')) =>
    client.workflow.execute(BackupVerifyWorkflow, { taskQueue: config.temporal.task_queue, workflowId: `${backupVerifyWorkflowId(name, DATE)}-${id}`, args: [{ backup: name, date: DATE }] });

  test('restore loads every table into a scratch dataset with the manifest row counts', async () => {
    const scratch = uniqueId('restore').replace(/-/g, '_');
    const r = await withWorker(config, (client) =>
      client.workflow.execute(BackupRestoreWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId: backupRestoreWorkflowId(name, DATE, scratch),
        args: [{ backup: name, date: DATE, to_dataset: scratch }],
      }),
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.tables.map((t) => t.table), TABLES);
    for (const t of r.tables) {
      assert.equal(t.rows_manifest, BACKUP_DEMO_ROWS[t.table]);
      assert.equal(t.rows_restored, BACKUP_DEMO_ROWS[t.table]);
      assert.equal(t.load_format, 'PARQUET');
    }
    const info = stack();
    const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
    const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${info.bigquery.projectId}.${scratch}.orders\`` });
    assert.equal(Number((rows[0] as { n: number }).n), BACKUP_DEMO_ROWS.orders);
    // the values came back too, not only the count: unicode, dates, timestamps, booleans, NULLs
    const facts = async (ds: string) =>
      (
        await bq.query({
          query: `SELECT COUNT(*) AS n, ROUND(SUM(amount), 2) AS total, CAST(MAX(ordered_at) AS STRING) AS last_at, CAST(MIN(ship_date) AS STRING) AS first_ship,
                  COUNTIF(ship_date IS NULL) AS no_ship, COUNTIF(gift) AS gifts, COUNTIF(gift IS NULL) AS gift_null, MAX(note) AS note
                  FROM \`${info.bigquery.projectId}.${ds}.orders\``,
        })
      )[0][0] as Record<string, unknown>;
    assert.deepEqual(await facts(scratch), await facts(BACKUP_DEMO_DATASET));
  });

  test('verify passes on an intact backup and catches a file altered at the destination', async () => {
    await withWorker(config, async (client) => {
      const ok = await verify(client);
      assert.equal(ok.ok, true, JSON.stringify(ok));
      assert.deepEqual(ok.tables.map((t) => [t.table, t.ok, t.manifest]), TABLES.map((t) => [t, true, true]));

      // same size, one byte different: only a checksum can tell
      const dir = path.join(localSftpPath(config.sftp!.directory), 'GCP/bigquery', BACKUP_DEMO_DATASET, 'orders', DATE);
      const file = path.join(dir, 'part-00000.parquet');
      const bytes = fs.readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      fs.writeFileSync(file, bytes);
      fs.writeFileSync(path.join(dir, 'stray.txt'), 'not from the backup');
      const bad = await verify(client);
      assert.equal(bad.ok, false);
      const orders = bad.tables.find((t) => t.table === 'orders')!;
      assert.equal(orders.ok, false);
      assert.deepEqual(orders.checksum_mismatches.map((m) => m.name), ['part-00000.parquet']);
      assert.deepEqual(orders.size_mismatches, []);
      assert.deepEqual(orders.extra, ['stray.txt']);
      assert.equal(bad.tables.find((t) => t.table === 'customers_intl')!.ok, true);

      fs.rmSync(path.join(path.dirname(dir), '..', 'customers_intl', DATE, MANIFEST_NAME));
      const noManifest = await verify(client);
      assert.deepEqual(noManifest.tables.find((t) => t.table === 'customers_intl')!.missing, [MANIFEST_NAME]);
    });
  });
});
