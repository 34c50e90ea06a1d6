/**
 * BackupWorkflow to the Box destination (Box's SDK against the local stand-in, not Box itself):
 * the seed's folder layout, Parquet files and manifests, then `backup verify` through Box.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { BackupVerifyWorkflow, BackupWorkflow } from '../../src/backup/workflow';
import { backupVerifyWorkflowId, backupWorkflowId, MANIFEST_NAME } from '../../src/backup/naming';
import type { BackupManifest } from '../../src/backup/activities';
import { BACKUP_DEMO_ROWS } from '../../src/stack/seed-backup';
import { withWorker } from '../helpers/export';
import { BACKUP_DEMO_DATASET, backupTestConfig } from './helpers';
import { startBoxStandIn, type BoxStandIn } from './box-standin';

let box: BoxStandIn;
before(async () => (box = await startBoxStandIn()));
after(() => box.close());

test('the demo tables backed up to Box under GCP/bigquery/{dataset}/{table}/{date}, verified through Box', async () => {
  const tables = ['customers_intl', 'orders'];
  const { config, name } = backupTestConfig({
    tables,
    destination: { type: 'box', auth: 'ccg', client_id: 'standin-client', client_secret: 'standin-secret', enterprise_id: '42', base_url: box.url, upload_url: box.url },
  });
  const date = '2025-06-01';
  await withWorker(config, async (client) => {
    const r = await client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, date), args: [{ backup: name, date }] });
    assert.equal(r.success, 2, JSON.stringify(r));
    assert.match(r.destination, /^box:\/\/folder\/0/);
    for (const t of tables) {
      const manifestFile = box.fileAt(['GCP', 'bigquery', BACKUP_DEMO_DATASET, t, date, MANIFEST_NAME]);
      assert.ok(manifestFile, `${t}: manifest in Box`);
      const m = JSON.parse(manifestFile.data.toString('utf8')) as BackupManifest;
      assert.equal(m.row_count, BACKUP_DEMO_ROWS[t]);
      for (const f of m.files) {
        const stored = box.fileAt(['GCP', 'bigquery', BACKUP_DEMO_DATASET, t, date, f.name]);
        assert.ok(stored);
        assert.equal(crypto.createHash('sha256').update(stored.data).digest('hex'), f.sha256);
        assert.equal(stored.data.subarray(0, 4).toString(), 'PAR1');
      }
    }
    const v = await client.workflow.execute(BackupVerifyWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupVerifyWorkflowId(name, date), args: [{ backup: name, date }] });
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.deepEqual(v.tables.map((t) => t.table), tables);
  });
});
