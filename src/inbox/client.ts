/** Starting and inspecting inbox polls from a Temporal client (CLI, demo, tests). */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { runUrl } from '../activities/notify';
import { SftpPool } from '../sftp';
import { durationMs } from './config';
import { doneIds, readLedger } from './ledger';
import { globToRegExp, joinPath, pollWorkflowId } from './naming';
import { inboxConfig, inboxEndpoint, inboxFolders, listOrEmpty, readText } from './sftp-ops';
import type { InboxPollResult } from './workflow';

export interface StartedPoll {
  workflowId: string;
  runId: string;
  url: string;
  /** false when a poll of this inbox was already running and we attached to it */
  started: boolean;
  result: Promise<InboxPollResult>;
}

/** One poll now, as `inbox-<name>-poll`; if one is running (schedule or another operator) we wait for that one. */
export async function startPoll(client: Client, config: Config, name: string): Promise<StartedPoll> {
  inboxConfig(config, name);
  const workflowId = pollWorkflowId(name);
  const before = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => undefined);
  const handle = await client.workflow.start('InboxPollWorkflow', {
    workflowId,
    taskQueue: config.temporal.task_queue,
    args: [{ inbox: name }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const runId = handle.firstExecutionRunId;
  const started = !(before?.status.name === 'RUNNING' && before.runId === runId);
  return {
    workflowId,
    runId,
    url: runUrl(config, workflowId, runId),
    started,
    result: client.workflow.getHandle(workflowId, runId).result() as Promise<InboxPollResult>,
  };
}

export interface LastPoll {
  status: string;
  started?: string;
  closed?: string;
  url: string;
  claimed?: number;
  batches?: number;
  failed_batches?: number;
}

export async function lastPoll(client: Client, config: Config, name: string): Promise<LastPoll | undefined> {
  const handle = client.workflow.getHandle(pollWorkflowId(name));
  try {
    const d = await handle.describe();
    const last: LastPoll = { status: d.status.name, started: d.startTime.toISOString(), closed: d.closeTime?.toISOString(), url: runUrl(config, d.workflowId, d.runId) };
    if (d.status.name === 'COMPLETED') {
      const r = (await handle.result()) as InboxPollResult;
      Object.assign(last, { claimed: r.claimed.length, batches: r.batches.length, failed_batches: r.batches.filter((b) => b.status === 'failed').length });
    }
    return last;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export interface InboxStatusReport {
  inbox: string;
  path: string;
  poll_every_ms: number;
  waiting: { name: string; size: number; mtime: string }[];
  in_progress: { folder: string; files: number }[];
  pending_batches: { id: string; files: string[] }[];
  failed: { file: string; error?: string }[];
}

/** What is on the SFTP server: files waiting, in progress (and batches not finished), failed with their reasons. */
export async function inboxStatus(config: Config, name: string): Promise<InboxStatusReport> {
  const inbox = inboxConfig(config, name);
  const folders = inboxFolders(inbox);
  const match = globToRegExp(inbox.pattern);
  const pool = new SftpPool({ maxPerEndpoint: 1 });
  try {
    return await pool.withSession(inboxEndpoint(config, inbox), async (s) => {
      const waiting = (await listOrEmpty(s, folders.source))
        .filter((e) => e.type === 'file' && match.test(e.name))
        .map((e) => ({ name: e.name, size: e.size, mtime: e.mtime.toISOString() }));
      const inProgress = [];
      for (const d of (await listOrEmpty(s, folders.inProgress)).filter((e) => e.type === 'dir')) {
        inProgress.push({ folder: d.name, files: (await s.list(joinPath(folders.inProgress, d.name))).filter((e) => e.type === 'file').length });
      }
      const done = await doneIds(s, folders.state);
      const pending = (await readLedger(s, folders.state)).filter((e) => !done.has(e.id)).map((e) => ({ id: e.id, files: e.files.map((f) => f.filename) }));
      const failed = [];
      for (const d of (await listOrEmpty(s, folders.failed)).filter((e) => e.type === 'dir')) {
        const dir = joinPath(folders.failed, d.name);
        for (const e of await s.list(dir)) {
          if (e.type !== 'file' || e.name.endsWith('.error.json')) continue;
          const report = await readText(s, joinPath(dir, `${e.name}.error.json`));
          let error: string | undefined;
          try {
            const r = report ? (JSON.parse(report) as { error?: { type?: string; message?: string } }) : undefined;
            error = r?.error ? `${r.error.type}: ${r.error.message}` : undefined;
          } catch {
            error = 'unreadable .error.json';
          }
          failed.push({ file: `${d.name}/${e.name}`, error });
        }
      }
      return { inbox: name, path: inbox.path, poll_every_ms: durationMs(inbox.poll_interval) ?? 60_000, waiting, in_progress: inProgress, pending_batches: pending, failed };
    });
  } finally {
    await pool.closeAll();
  }
}
