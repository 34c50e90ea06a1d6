import fs from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../src/config';
import { clientFor } from '../../src/cli/config-option';
import { runUrl } from '../../src/activities/notify';
import { requireStack } from '../../src/stack/stack-check';
import { BACKUP_DEMO_DATASET, BACKUP_OFFSITE_BUCKET } from '../../src/stack/seed-backup';
import { startBackup, today } from '../../src/backup/starter';
import { createWorker } from '../../src/worker';

/**
 * The config the backup demo uses: the stack's demo config plus two backups of `backup_demo`,
 * to the stack's SFTP server and to a second GCS bucket (written next to the demo config).
 */
export function backupDemoConfig(demoConfigPath: string): Record<string, unknown> {
  const raw = JSON.parse(fs.readFileSync(demoConfigPath, 'utf8')) as Record<string, unknown>;
  return {
    ...raw,
    backups: {
      backup_demo: {
        dataset: BACKUP_DEMO_DATASET,
        destination: { type: 'sftp' },
        retention: 7,
        schedule: { cron: '0 2 * * *', timezone: 'UTC' },
      },
      backup_demo_offsite: {
        dataset: BACKUP_DEMO_DATASET,
        destination: { type: 'gcs', bucket: BACKUP_OFFSITE_BUCKET },
        schedule: { cron: '0 3 * * 0', timezone: 'UTC' },
      },
    },
  };
}

/** The backup family end to end: the demo dataset → Parquet (Snappy) → the stack's SFTP server. */
export async function run(): Promise<void> {
  const info = await requireStack();
  const raw = backupDemoConfig(info.demoConfigPath);
  const configPath = path.join(path.dirname(info.demoConfigPath), 'backup-demo-config.json');
  fs.writeFileSync(configPath, JSON.stringify(raw, null, 2), { mode: 0o600 });
  const config = configSchema.parse(raw);
  const client = await clientFor(config);
  const worker = await createWorker({ config });
  const date = today();
  process.stdout.write(`\nBacking up dataset ${BACKUP_DEMO_DATASET} for ${date}: tables → Parquet (Snappy) → SFTP ${config.sftp?.directory}/GCP/bigquery/… \n`);
  const handle = await startBackup(client, config, { backup: 'backup_demo', date });
  const { runId } = await handle.describe();
  const started = Date.now();
  const result = await worker.runUntil(handle.result());
  const url = runUrl(config, handle.workflowId, runId);
  process.stdout.write(`\nThe seed's /sync answer (${((Date.now() - started) / 1000).toFixed(1)} s):\n`);
  process.stdout.write(`${JSON.stringify({ dataset: result.dataset, success: result.success, errors: result.errors, tables: result.tables }, null, 2)}\n`);
  if (result.skipped_views.length) process.stdout.write(`\nViews skipped: ${result.skipped_views.join(', ')}\n`);
  process.stdout.write(
    `\nOn disk (the SFTP jail): ${info.sftp.passwordUser.localRoot}${config.sftp?.directory}/GCP/bigquery/${BACKUP_DEMO_DATASET}/` +
      `\n\nTry next:` +
      `\n  npx bq-sftp backup list backup_demo -c ${configPath}` +
      `\n  npx bq-sftp backup verify backup_demo --date ${date} -c ${configPath}      # needs a worker: npx bq-sftp worker -c ${configPath}` +
      `\n  npx bq-sftp backup restore backup_demo --date ${date} --to-dataset restore_scratch -c ${configPath}` +
      `\n  npx bq-sftp backup run backup_demo_offsite -c ${configPath}                 # the off-site GCS copy` +
      `\n  npx bq-sftp schedules sync --dry-run -c ${configPath}                       # one schedule per backup` +
      `\n\nSee this run in the Temporal Web UI:\n  ${url}\n`,
  );
  await client.connection.close();
}
