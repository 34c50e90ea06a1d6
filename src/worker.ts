import { DefaultLogger, Runtime, Worker, type LogLevel, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { buildActivityDeps } from './activities/deps';
import { loadConfig, type Config } from './config';
import { workflowBundlePath } from './temporal/workflow-bundle';
import { connectWorkerConnection, type TemporalSettings } from './temporal/connection';
import { dataConverterFor } from './codec/data-converter';
import { migrateIngestOnStart } from './ingest/migrate-on-start';

/**
 * What a worker process runs: both (the default), or one half, so transfers can run in processes
 * without the workflow sandbox (≈ 30 MB less) and workflows in processes without the Google and
 * SSH clients' work. Every task queue needs at least one worker of each half.
 */
export const WORKER_ROLES = ['all', 'activities', 'workflows'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export interface WorkerOptions {
  config: Config;
  role?: WorkerRole;
  /** overrides of the config's Temporal block (tests use their own task queue) */
  taskQueue?: string;
  deps?: Partial<ActivityDeps>;
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

export function temporalSettings(config: Config): TemporalSettings {
  return {
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    apiKey: config.temporal.api_key,
    tls: config.temporal.tls,
    encryption: config.encryption,
  };
}

export interface BqSftpWorker {
  worker: Worker;
  deps: ActivityDeps;
  /** run until shutdown (SIGINT/SIGTERM), then close SFTP connections */
  run(): Promise<void>;
  runUntil<R>(p: Promise<R>): Promise<R>;
}

export async function createWorker(opts: WorkerOptions): Promise<BqSftpWorker> {
  installRuntime();
  const deps: ActivityDeps = { ...buildActivityDeps(opts.config), ...opts.deps };
  const connection = opts.connection ?? (await connectWorkerConnection(temporalSettings(opts.config)));
  const role = opts.role ?? 'all';
  const worker = await Worker.create({
    connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.taskQueue ?? opts.config.temporal.task_queue,
    ...(role === 'activities' ? {} : { workflowBundle: { codePath: await workflowBundlePath() } }),
    ...(role === 'workflows' ? {} : { activities: createActivities(deps) }),
    dataConverter: dataConverterFor(opts.config.encryption),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 20,
    // On SIGINT/SIGTERM running activities are cancelled after this grace time, so transfers clean up.
    shutdownGraceTime: '10 seconds',
  });
  const closeAll = async () => {
    await deps.sftpPool.closeAll();
    if (!opts.connection) await connection.close().catch(() => undefined);
  };
  return {
    worker,
    deps,
    run: async () => {
      try {
        await worker.run();
      } finally {
        await closeAll();
      }
    },
    runUntil: async (p) => {
      try {
        return await worker.runUntil(p);
      } finally {
        await closeAll();
      }
    },
  };
}

export async function runWorker(config: Config, role: WorkerRole = 'all'): Promise<void> {
  if (role !== 'workflows') await migrateIngestOnStart(config);
  const w = await createWorker({ config, role });
  const runs = role === 'all' ? '' : ` (${role} only)`;
  process.stdout.write(
    `bq-sftp worker${runs} polling task queue "${config.temporal.task_queue}" on ${config.temporal.address} (namespace ${config.temporal.namespace}); Ctrl-C stops it gracefully\n`,
  );
  await w.run();
}

if (require.main === module) {
  runWorker(loadConfig()).catch((err: unknown) => {
    process.stderr.write(`worker: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
