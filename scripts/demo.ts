import { connectClient } from '../src/temporal/connection';
import { readStackInfo } from '../src/stack/stack-info';
import { createWorker } from '../src/worker';
import { PingWorkflow } from '../src/workflows';

async function main(): Promise<void> {
  const info = readStackInfo();
  const taskQueue = 'bq-sftp-demo';
  const client = await connectClient(info.temporal);
  const worker = await createWorker({ temporal: info.temporal, taskQueue });
  const workflowId = `demo-ping-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const result = await worker.runUntil(client.workflow.execute(PingWorkflow, { taskQueue, workflowId, args: ['bq-sftp demo'] }));
  process.stdout.write(`\n${result}\n\nSee the run in the Temporal Web UI:\n  ${info.temporal.uiUrl}/namespaces/${info.temporal.namespace}/workflows/${workflowId}\n`);
  await client.connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(1);
});
