import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { syncSchedules } from '../../src/export/schedules/sync';
import { dailyScheduleId, exportScheduleId } from '../../src/export/schedules/desired';
import { logicalDate } from '../../src/workflows/logical-date';
import type { DailyExportsResult } from '../../src/export/daily-workflow';
import { clientFor } from '../../src/cli/config-option';
import { testConfig } from '../helpers/config';
import { exportName, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { stack } from '../helpers/stack';

const info = stack();
const productsQuery = `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.products\` WHERE DATE(created_at) = '{date}'`;

/** The schedules of a task queue, by describe (consistent) of every ID that may exist. */
async function ourSchedules(client: Client, taskQueue: string, ids: string[]) {
  const found: Record<string, { paused: boolean; cron?: string[]; args?: unknown }> = {};
  for (const id of ids) {
    const d = await client.schedule.getHandle(id).describe().catch(() => undefined);
    if (!d || d.memo?.bqSftpTaskQueue !== taskQueue) continue;
    found[id] = {
      paused: d.state.paused,
      args: d.action.type === 'startWorkflow' ? d.action.args : undefined,
      cron: d.spec.calendars?.length ? ['calendar'] : undefined,
    };
  }
  return found;
}

test('logical date of a scheduled run: the scheduled day in the schedule time zone minus the offset', () => {
  assert.equal(logicalDate(new Date('2025-03-10T06:00:00Z'), 1, 'UTC'), '2025-03-09');
  assert.equal(logicalDate(new Date('2025-03-10T02:00:00Z'), 1, 'America/New_York'), '2025-03-08');
  assert.equal(logicalDate(new Date('2025-01-01T00:30:00Z'), 0, 'UTC'), '2025-01-01');
  assert.equal(logicalDate(new Date('2025-03-01T06:00:00Z'), 1, 'UTC'), '2025-02-28');
});

test('schedules sync creates exactly what the config implies, updates and deletes on change; --dry-run changes nothing', async () => {
  const [a, b, c] = [exportName('sa'), exportName('sb'), exportName('sc')];
  const config = testConfig({
    exports: {
      [a]: { query: productsQuery },
      [b]: { query: productsQuery },
      [c]: { query: productsQuery, schedule: { cron: '30 7 * * 1', timezone: 'Europe/Berlin' } },
    },
  });
  const tq = config.temporal.task_queue;
  const client = await clientFor(config);
  const ids = [dailyScheduleId(tq), exportScheduleId(tq, a), exportScheduleId(tq, b), exportScheduleId(tq, c)];
  try {
    const dry = await syncSchedules(client, config, { dryRun: true });
    assert.deepEqual(dry.create.sort(), [dailyScheduleId(tq), exportScheduleId(tq, c)].sort());
    assert.deepEqual(await ourSchedules(client, tq, ids), {}, 'dry run created nothing');

    const plan = await syncSchedules(client, config);
    assert.equal(plan.create.length, 2);
    const created = await ourSchedules(client, tq, ids);
    assert.deepEqual(Object.keys(created).sort(), [dailyScheduleId(tq), exportScheduleId(tq, c)].sort());
    assert.deepEqual(created[dailyScheduleId(tq)].args, [{ exports: [a, b].sort(), maxParallel: 4, dateOffsetDays: 1, timezone: 'UTC' }]);
    assert.deepEqual(created[exportScheduleId(tq, c)].args, [{ exports: [c], maxParallel: 1, dateOffsetDays: 1, timezone: 'Europe/Berlin' }]);

    const again = await syncSchedules(client, config);
    assert.deepEqual([again.create, again.update, again.delete], [[], [], []], 'a second sync is a no-op');

    // c loses its own cron (joins the fan-out), the fan-out is paused
    const edited = testConfig({
      temporal: { task_queue: tq },
      exports: { [a]: { query: productsQuery }, [b]: { query: productsQuery }, [c]: { query: productsQuery } },
      schedule: { paused: true },
    });
    (edited.temporal as { task_queue: string }).task_queue = tq;
    const dryEdit = await syncSchedules(client, edited, { dryRun: true });
    assert.deepEqual([dryEdit.update, dryEdit.delete], [[dailyScheduleId(tq)], [exportScheduleId(tq, c)]]);
    assert.equal(Object.keys(await ourSchedules(client, tq, ids)).length, 2, 'dry run deleted nothing');
    await syncSchedules(client, edited);
    const after = await ourSchedules(client, tq, ids);
    assert.deepEqual(Object.keys(after), [dailyScheduleId(tq)]);
    assert.equal(after[dailyScheduleId(tq)].paused, true);
    assert.deepEqual(after[dailyScheduleId(tq)].args, [{ exports: [a, b, c].sort(), maxParallel: 4, dateOffsetDays: 1, timezone: 'UTC' }]);
  } finally {
    for (const id of ids) await client.schedule.getHandle(id).delete().catch(() => undefined);
    await client.connection.close();
  }
});

test('triggering the fan-out schedule runs every export; a broken query fails alone; one Slack summary', async () => {
  const [ok1, ok2, broken] = [exportName('fo'), exportName('fo'), exportName('broken')];
  const slack = await startSlackReceiver();
  const config = testConfig({
    exports: {
      [ok1]: { query: productsQuery },
      [ok2]: { query: productsQuery, format: 'JSON' },
      [broken]: { query: 'SELECT * FROM `bq-sftp-demo.demo.no_such_table`' },
    },
    slack: { webhook_url: slack.url },
  });
  const tq = config.temporal.task_queue;
  try {
    const result = await withWorker(config, async (client) => {
      await syncSchedules(client, config);
      await client.schedule.getHandle(dailyScheduleId(tq)).trigger();
      // the schedule starts the run asynchronously: wait (bounded) until it shows up
      for (let i = 0; i < 100; i++) {
        const d = await client.schedule.getHandle(dailyScheduleId(tq)).describe();
        const wf = d.info.recentActions.at(-1)?.action.workflow;
        if (wf) {
          const r = (await client.workflow.getHandle(wf.workflowId, wf.firstExecutionRunId).result()) as DailyExportsResult;
          await client.schedule.getHandle(dailyScheduleId(tq)).delete();
          return r;
        }
        await new Promise((res) => setTimeout(res, 200));
      }
      throw new Error('the schedule did not start a run');
    });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    assert.equal(result.date, yesterday, 'logical date = scheduled day − 1');
    const byName = Object.fromEntries(result.exports.map((o) => [o.export_name, o]));
    assert.equal(byName[ok1].status, 'succeeded');
    assert.equal(byName[ok2].status, 'succeeded');
    assert.equal(byName[broken].status, 'failed');
    assert.match(byName[broken].error!.type, /^BigQuery(NotFound|InvalidQuery)$/);
    assert.equal(result.failed, 1);
    assert.equal(slack.messages.length, 1, 'one Slack summary for the fan-out, none from the children');
    assert.match(JSON.stringify(slack.messages[0]), new RegExp(broken));
  } finally {
    await slack.close();
  }
});
