/**
 * One table failing does not stop the others (one Slack message lists it); retention keeps N.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createBigQuery } from '../../src/bigquery/client';
import { BackupWorkflow, backupProgressQuery } from '../../src/backup/workflow';
import { backupWorkflowId, MANIFEST_NAME } from '../../src/backup/naming';
import { localSftpPath, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { stack, uniqueId } from '../helpers/stack';
import { BACKUP_DEMO_DATASET, backupTestConfig } from './helpers';

function bigquery() {
  const info = stack();
  return createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
}

test('a table dropped mid-run fails alone: the others are backed up, the result lists the error, one Slack message', async () => {
  const doomed = uniqueId('zz_drop').replace(/-/g, '_');
  const ds = bigquery().dataset(BACKUP_DEMO_DATASET);
  const [table] = await ds.createTable(doomed, { schema: { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'label', type: 'STRING' }] } });
  await table.insert([{ id: 1, label: 'soon gone' }, { id: 2, label: 'ünïcode' }]);
  const slack = await startSlackReceiver();
  try {
    const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, max_parallel_tables: 1 }, { slack: { webhook_url: slack.url } });
    const tables = ['customers_intl', 'orders', doomed];
    const result = await withWorker(config, async (client) => {
      const handle = await client.workflow.start(BackupWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId: backupWorkflowId(name, '2025-01-09', tables),
        args: [{ backup: name, date: '2025-01-09', tables }],
      });
      // the progress query answers once the tables are listed; the doomed table (last, one at a time) is then dropped
      for (;;) {
        const p = await handle.query(backupProgressQuery).catch(() => undefined);
        if (p) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await table.delete();
      return handle.result();
    });
    assert.equal(result.success, 2);
    assert.equal(result.errors, 1);
    const failed = result.tables.find((t) => t.table === doomed)!;
    assert.equal(failed.status, 'error');
    assert.equal(failed.step, 'extract');
    assert.equal(failed.error_type, 'BigQueryNotFound');
    assert.match(failed.error ?? '', new RegExp(doomed));
    for (const t of ['customers_intl', 'orders']) {
      assert.equal(result.tables.find((x) => x.table === t)?.status, 'success');
      assert.ok(fs.existsSync(path.join(localSftpPath(config.sftp!.directory), 'GCP/bigquery', BACKUP_DEMO_DATASET, t, '2025-01-09', MANIFEST_NAME)));
    }
    assert.equal(slack.messages.length, 1);
    const text = JSON.stringify(slack.messages[0]);
    assert.match(text, new RegExp(`1 of 3 tables failed`));
    assert.match(text, new RegExp(`${doomed} \\(extract\\): BigQueryNotFound`));
    assert.doesNotMatch(text, /customers_intl \(/);
  } finally {
    await slack.close();
    await table.delete().catch(() => undefined);
  }
});

test('retention keeps exactly the last N backups of each table', async () => {
  const prefix = uniqueId('ret');
  const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, path: `${prefix}/{table}/{date}`, retention: 2, tables: ['customers_intl'] });
  const dates = ['2025-02-01', '2025-02-02', '2025-02-03', '2025-02-04'];
  const removed: string[][] = [];
  await withWorker(config, async (client) => {
    for (const date of dates) {
      const r = await client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, date), args: [{ backup: name, date }] });
      assert.equal(r.success, 1);
      removed.push(r.tables[0].retention_removed ?? []);
    }
  });
  const dir = path.join(localSftpPath(config.sftp!.directory), prefix, 'customers_intl');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['2025-02-03', '2025-02-04']);
  assert.deepEqual(removed, [[], [], ['2025-02-01'], ['2025-02-02']]);
  for (const d of ['2025-02-03', '2025-02-04']) assert.ok(fs.existsSync(path.join(dir, d, MANIFEST_NAME)));
});
