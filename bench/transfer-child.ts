// One transferFiles (or verifySync) run in its own process, so its peak RSS is measurable alone.
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadConfig } from '../src/config';
import { buildActivityDeps } from '../src/activities/deps';
import { createTransferFiles } from '../src/export/transfer-files';
import { createVerifySync } from '../src/export/verify-sync';

async function main(): Promise<void> {
  const [kind, configPath, exportName, date, gcsPath] = process.argv.slice(2);
  const config = loadConfig({ path: configPath });
  const deps = buildActivityDeps(config);
  // RSS once every module is loaded and the clients exist: what any worker process carries
  const baselineRssMb = process.memoryUsage().rss / 2 ** 20;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const env = new MockActivityEnvironment();
  const result: { in_sync: boolean } | { files: string[] } = kind === 'verify'
    ? ((await env.run(createVerifySync(deps), { exportName, date, gcsPath })) as { in_sync: boolean })
    : ((await env.run(createTransferFiles(deps), { exportName, date, gcsPath })) as { files: string[] });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await deps.sftpPool.closeAll();
  const ok = 'in_sync' in result ? result.in_sync : result.files.length > 0;
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, baselineRssMb, ok })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
