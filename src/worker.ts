import { DefaultLogger, Runtime, Worker, type LogLevel, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { connectWorkerConnection, type TemporalSettings } from './temporal/connection';

export interface WorkerOptions {
  temporal: TemporalSettings;
  taskQueue: string;
  deps?: ActivityDeps;
  connection?: NativeConnection;
  maxConcurrentActivityTaskExecutions?: number;
}

let runtimeInstalled = false;
/** The SDK's runtime logger, once per process; BQSFTP_LOG_LEVEL=WARN keeps test output short. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.BQSFTP_LOG_LEVEL || 'INFO').toUpperCase() as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level) });
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  installRuntime();
  const connection = opts.connection ?? (await connectWorkerConnection(opts.temporal));
  return Worker.create({
    connection,
    namespace: opts.temporal.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: createActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 20,
    // On SIGINT/SIGTERM running activities are cancelled after this grace time so transfers clean up.
    shutdownGraceTime: '10 seconds',
  });
}

async function main(): Promise<void> {
  const temporal = {
    address: process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
  };
  const taskQueue = process.env.TEMPORAL_TASK_QUEUE || 'bq-sftp';
  const worker = await createWorker({ temporal, taskQueue });
  process.stdout.write(`bq-sftp worker polling task queue "${taskQueue}" on ${temporal.address}\n`);
  await worker.run();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
