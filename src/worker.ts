import { DefaultLogger, Runtime, Worker, type LogLevel, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { buildActivityDeps } from './activities/deps';
import { prepareConnectionKeys } from './activities/sftp-endpoint';
import { loadConfig, type Config } from './config';
import { workflowBundlePath, workflowSourceDigest } from './temporal/workflow-bundle';
import { packageVersion, temporalSdkVersion } from './version';
import { metrics } from './metrics/registry';
import { metricsActivityInterceptor } from './metrics/activity-interceptor';
import { metricsSinks } from './metrics/sinks';
import { freeLoopbackPort, startMetricsServer, type MetricsServer } from './metrics/server';
import { connectWorkerConnection, type TemporalSettings } from './temporal/connection';
import { dataConverterFor } from './codec/data-converter';
import { migrateIngestOnStart } from './ingest/migrate-on-start';
import { applyHeapGrowth } from './temporal/heap-growth';

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
/**
 * The SDK's runtime, once per process: its logger (BQSFTP_LOG_LEVEL=WARN keeps test output short)
 * and, for a worker serving /metrics, the SDK's Prometheus exporter on a private loopback address
 * (src/metrics/server.ts merges it into our page). Returns false when it was installed already.
 */
export function installRuntime(sdkMetricsAddress?: string): boolean {
  if (runtimeInstalled) return false;
  runtimeInstalled = true;
  const level = (process.env.BQSFTP_LOG_LEVEL || 'INFO').toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level),
    ...(sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } } : {}),
  });
  return true;
}

/**
 * The worker's build id: the package version plus the digest of the workflow code (every file of
 * src/ or dist/ and the SDK version — the bundle's cache key), e.g. `0.1.0+83a7c4e4c4474e29`.
 * Two workers with the same id run the same workflow code.
 */
let buildId: string | undefined;
export function workerBuildId(): string {
  buildId ??= `${packageVersion()}+${workflowSourceDigest()}`;
  return buildId;
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
    buildId: workerBuildId(),
    // metrics: activity results and failures (activity interceptor), run outcomes (the workflow
    // interceptor in the bundle reports through this sink)
    interceptors: { activity: [metricsActivityInterceptor] },
    sinks: metricsSinks(),
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

export interface RunWorkerOptions {
  /** serve /metrics on this port (overrides config metrics.prometheus.port) */
  metricsPort?: number;
}

export async function runWorker(config: Config, role: WorkerRole = 'all', runOpts: RunWorkerOptions = {}): Promise<void> {
  applyHeapGrowth();
  const prom = config.metrics.prometheus;
  const metricsPort = runOpts.metricsPort ?? prom?.port;
  let metricsServer: MetricsServer | undefined;
  if (metricsPort !== undefined) {
    // the SDK's exporter first: the runtime must be installed before any connection is made
    const sdkAddress = `127.0.0.1:${await freeLoopbackPort()}`;
    installRuntime(sdkAddress);
    metricsServer = await startMetricsServer({ host: prom?.host ?? '0.0.0.0', port: metricsPort, sdkAddress });
  }
  if (role !== 'workflows') await migrateIngestOnStart(config);
  const w = await createWorker({ config, role });
  if (role !== 'workflows') void prepareConnectionKeys(config);
  metrics.setPoolSource(() => w.deps.sftpPool.statsByConnection());
  metrics.setBuildInfo({ version: packageVersion(), buildId: workerBuildId(), sdkVersion: temporalSdkVersion() });
  if (metricsServer) process.stdout.write(`bq-sftp worker: metrics at ${metricsServer.url}\n`);
  const runs = role === 'all' ? '' : ` (${role} only)`;
  process.stdout.write(
    `bq-sftp worker${runs} polling task queue "${config.temporal.task_queue}" on ${config.temporal.address} (namespace ${config.temporal.namespace}); Ctrl-C stops it gracefully\n`,
  );
  try {
    await w.run();
  } finally {
    await metricsServer?.close();
  }
}

if (require.main === module) {
  runWorker(loadConfig()).catch((err: unknown) => {
    process.stderr.write(`worker: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
