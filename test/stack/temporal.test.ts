import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from '../../src/temporal/connection';
import { createWorker } from '../../src/worker';
import { PingWorkflow } from '../../src/workflows';
import { stack, uniqueId } from '../helpers/stack';

test('a workflow runs on the Temporal dev server through our worker', async () => {
  const { temporal } = stack();
  const taskQueue = uniqueId('ping');
  const client = await connectClient(temporal);
  const worker = await createWorker({ temporal, taskQueue });
  try {
    const result = await worker.runUntil(
      client.workflow.execute(PingWorkflow, { taskQueue, workflowId: uniqueId('ping'), args: ['hello'] }),
    );
    assert.match(result, /^pong: hello \(activity ping on ping-[0-9a-f]+\)$/);
  } finally {
    await client.connection.close();
  }
});
