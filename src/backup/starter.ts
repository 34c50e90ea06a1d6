import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import type { BackupConfig } from './config';
import { backupRestoreWorkflowId, backupVerifyWorkflowId, backupWorkflowId } from './naming';
import { BackupRestoreWorkflow, BackupVerifyWorkflow, BackupWorkflow } from './workflow';

export function configuredBackups(config: Config): Record<string, BackupConfig> {
  return (config as { backups?: Record<string, BackupConfig> }).backups ?? {};
}

/** The backup of that name, or an error naming the known ones. */
export function getBackupConfig(config: Config, name: string): BackupConfig {
  const all = configuredBackups(config);
  const b = all[name];
  if (!b) {
    const known = Object.keys(all);
    throw new Error(`unknown backup "${name}" (${known.length ? `configured: ${known.join(', ')}` : 'no backups are configured under "backups"'})`);
  }
  return b;
}

/** Today in UTC, YYYY-MM-DD: a manual backup's logical date. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

async function startOrJoin<T>(start: () => Promise<T>, join: () => T): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return join();
    throw err;
  }
}

/** Starts (or joins, while it runs) the backup of one dataset for one date. */
export function startBackup(client: Client, config: Config, opts: { backup: string; date: string; tables?: string[] }): Promise<WorkflowHandle<typeof BackupWorkflow>> {
  const b = getBackupConfig(config, opts.backup);
  const workflowId = backupWorkflowId(opts.backup, opts.date, opts.tables);
  return startOrJoin(
    () =>
      client.workflow.start(BackupWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId,
        args: [{ backup: opts.backup, date: opts.date, ...(opts.tables?.length ? { tables: opts.tables } : {}) }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `Backup ${opts.backup} (${b.dataset}${opts.tables?.length ? `: ${opts.tables.join(', ')}` : ''}) for ${opts.date} → ${b.destination.type}, ${b.format}`,
      }),
    () => client.workflow.getHandle(workflowId),
  );
}

export function startBackupVerify(client: Client, config: Config, opts: { backup: string; date: string; tables?: string[] }): Promise<WorkflowHandle<typeof BackupVerifyWorkflow>> {
  getBackupConfig(config, opts.backup);
  const workflowId = backupVerifyWorkflowId(opts.backup, opts.date);
  return startOrJoin(
    () => client.workflow.start(BackupVerifyWorkflow, { taskQueue: config.temporal.task_queue, workflowId, args: [opts], workflowIdConflictPolicy: 'USE_EXISTING' }),
    () => client.workflow.getHandle(workflowId),
  );
}

export function startBackupRestore(
  client: Client,
  config: Config,
  opts: { backup: string; date: string; to_dataset: string; tables?: string[] },
): Promise<WorkflowHandle<typeof BackupRestoreWorkflow>> {
  getBackupConfig(config, opts.backup);
  const workflowId = backupRestoreWorkflowId(opts.backup, opts.date, opts.to_dataset);
  return startOrJoin(
    () => client.workflow.start(BackupRestoreWorkflow, { taskQueue: config.temporal.task_queue, workflowId, args: [opts], workflowIdConflictPolicy: 'USE_EXISTING' }),
    () => client.workflow.getHandle(workflowId),
  );
}
