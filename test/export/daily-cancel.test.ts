// Issue 19 item 1: cancelling a DailyExportsWorkflow ends it cancelled (children too), with no
// failure summary, instead of recording the running children as failed and completing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { DailyExportsWorkflow } from '../../src/export/daily-workflow';
import { exportWorkflowId } from '../../src/export/naming';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();
const query = `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\``;

async function waitForTransferAttempt(client: Client, workflowId: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const d = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
    if (d?.raw.pendingActivities?.some((a) => a.activityType?.name === 'transferFiles' && (a.attempt ?? 0) >= 1)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${workflowId} never reached its transfer`);
}

test('DailyExportsWorkflow cancelled while its children run: ends CANCELLED, children CANCELLED, no Slack summary', async () => {
  const [a, b] = [exportName('dc_a'), exportName('dc_b')];
  const slack = await startSlackReceiver();
  // the SFTP server refuses connections (port 1): each child's transfer stays in its retries
  const config = testConfig({ exports: { [a]: { query }, [b]: { query } }, sftp: { port: 1 }, slack: { webhook_url: slack.url } });
  try {
    await withWorker(config, async (client) => {
      const handle = await client.workflow.start(DailyExportsWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId: uniqueId('daily-cancel'),
        args: [{ date: DEMO_DATE, exports: [a, b], maxParallel: 2 }],
      });
      await Promise.all([a, b].map((n) => waitForTransferAttempt(client, exportWorkflowId(n, DEMO_DATE))));
      await handle.cancel();
      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError, `the run did not complete: ${String(err)}`);
      assert.ok(err.cause instanceof CancelledFailure, `ended cancelled, not ${String(err.cause)}`);
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      for (const n of [a, b]) assert.equal((await client.workflow.getHandle(exportWorkflowId(n, DEMO_DATE)).describe()).status.name, 'CANCELLED', n);
    });
    assert.equal(slack.messages.length, 0, 'a cancellation is not a failure: no Slack summary');
  } finally {
    await slack.close();
  }
});
