/**
 * The floor of P6 (issue 15): how long a Temporal server takes to run `n` child workflows that do
 * nothing, `width` at a time — the inbox starts one child per batch (1,000 files in batches of 5 =
 * 200). Usage: npx tsx bench/floors/empty-children.ts [n=200] [rounds=3] [widths=16,64,200]
 * (TEMPORAL_ADDRESS, default 127.0.0.1:7233: the stack's dev server).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const n = Number(process.argv[2] ?? 200);
  const rounds = Number(process.argv[3] ?? 3);
  const widths = (process.argv[4] ?? '16,64,200').split(',').map(Number);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const taskQueue = `empty-children-${process.pid}`;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowsPath: require.resolve('./empty-children-workflows'),
    maxConcurrentWorkflowTaskExecutions: 64,
  });
  const client = new Client({ connection: await Connection.connect({ address }) });
  await worker.runUntil(async () => {
    for (let r = 1; r <= rounds; r++) {
      for (const width of widths) {
        const t0 = process.hrtime.bigint();
        await client.workflow.execute('emptyChildrenParent', { taskQueue, workflowId: `${taskQueue}-${r}-${width}`, args: [n, width] });
        process.stdout.write(`round ${r}: ${n} empty child workflows, ${width} at a time: ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s\n`);
      }
    }
  });
  await client.connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
