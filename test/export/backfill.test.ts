import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backfill, dateRange } from '../../src/export/backfill';
import { ExportNameKey, ExportDateKey } from '../../src/workflows/search-attributes';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, withWorker } from '../helpers/export';
import { stack } from '../helpers/stack';

const info = stack();

test('dateRange: inclusive, validated, bounded', () => {
  assert.deepEqual(dateRange('2025-02-27', '2025-03-01'), ['2025-02-27', '2025-02-28', '2025-03-01']);
  assert.throws(() => dateRange('2025-02-30', '2025-03-01'), /2025-02-30/);
  assert.throws(() => dateRange('2025-03-02', '2025-03-01'), /before/);
  assert.throws(() => dateRange('2020-01-01', '2025-01-01'), /at most 366/);
});

test('backfill over three dates gives three runs with the right dates and files; a second backfill skips them; search attributes find them', async () => {
  const name = exportName('bf');
  const config = testConfig({
    exports: { [name]: { query: `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.products\` WHERE DATE(created_at) = '{date}' ORDER BY id`, file_prefix: 'B' } },
  });
  await withWorker(config, async (client) => {
    const first = await backfill(client, config, { exports: [name], from: '2025-01-06', to: '2025-01-08', concurrency: 2 });
    assert.deepEqual(first.map((i) => [i.date, i.status]), [['2025-01-06', 'succeeded'], ['2025-01-07', 'succeeded'], ['2025-01-08', 'succeeded']]);
    assert.deepEqual(listLocal(config.sftp!.directory), ['B_20250106-000000000000.csv', 'B_20250107-000000000000.csv', 'B_20250108-000000000000.csv']);

    const second = await backfill(client, config, { exports: [name], from: '2025-01-06', to: '2025-01-08' });
    assert.deepEqual(second.map((i) => i.status), ['skipped', 'skipped', 'skipped']);

    // visibility is eventually consistent: poll (bounded) until the three runs are listed
    let rows: { id: string; date?: string; name?: string }[] = [];
    for (let i = 0; i < 50 && rows.length < 3; i++) {
      rows = [];
      for await (const wf of client.workflow.list({ query: `ExportName = '${name}' AND ExportStatus = 'succeeded'` })) {
        rows.push({ id: wf.workflowId, date: wf.typedSearchAttributes.get(ExportDateKey), name: wf.typedSearchAttributes.get(ExportNameKey) });
      }
      if (rows.length < 3) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(rows.map((r) => r.date).sort(), ['2025-01-06', '2025-01-07', '2025-01-08']);
    assert.ok(rows.every((r) => r.name === name && r.id === `export-${name}-${r.date}`));
  });
});
