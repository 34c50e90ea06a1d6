import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PingWorkflow } from '../../src/workflows';
import { testConfig } from '../helpers/config';
import { withWorker } from '../helpers/export';
import { uniqueId } from '../helpers/stack';

test('a workflow runs on the Temporal dev server through our worker', async () => {
  const config = testConfig();
  const taskQueue = config.temporal.task_queue;
  const result = await withWorker(config, (client) =>
    client.workflow.execute(PingWorkflow, { taskQueue, workflowId: uniqueId('ping'), args: ['hello'] }),
  );
  assert.equal(result, `pong: hello (activity ping on ${taskQueue})`);
});
