import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { stackLayout } from '../../src/stack/layout';
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

test('the dev server keeps its SQLite store in WAL mode (a burst of child workflows costs it half the CPU)', () => {
  const db = path.join(stackLayout().stateDir, 'temporal.db');
  assert.ok(fs.existsSync(db), `${db} is where the stack's Temporal keeps its runs`);
  // in WAL mode the server's open connection keeps a -wal file beside the database; the default
  // rollback journal never makes one
  assert.ok(fs.existsSync(`${db}-wal`), `no ${db}-wal: the server runs SQLite without --sqlite-pragma journal_mode=wal`);
});
