import { defineSearchAttributeKey, SearchAttributeType, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { InboxActivities, InboxClaimResult, InboxDecryptResult, InboxSettings, PendingBatch, BatchFile } from './activities';
import type { FailureNotice } from '../activities/notify';
import { batchWorkflowId, pollWorkflowId } from './naming';

/** Registered by `stack up` (SEARCH_ATTRIBUTES in src/stack/services.ts). */
export const InboxNameKey = defineSearchAttributeKey('InboxName', SearchAttributeType.KEYWORD);
export const InboxStatusKey = defineSearchAttributeKey('InboxStatus', SearchAttributeType.KEYWORD);
export type InboxStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

export interface InboxPollInput {
  inbox: string;
}

export interface InboxBatchOutcome {
  id: string;
  workflow_id: string;
  files: string[];
  status: 'submitted' | 'failed' | 'already_done';
  recovered: boolean;
  error?: string;
}

export interface InboxPollResult {
  inbox: string;
  workflow_id: string;
  skipped?: string;
  date_folder?: string;
  claimed: { name: string; backup_path: string }[];
  waiting: string[];
  refused: { name: string; reason: string }[];
  lost: string[];
  stranded: string[];
  batches: InboxBatchOutcome[];
  /** OpenPGP uploads decrypted (and their signature checked) before batching: `a.pdf.pgp` → `a.pdf` */
  decrypted?: { file: string; backup_path: string }[];
  /** OpenPGP uploads that failed decryption or the signature check: moved to failed/, never submitted */
  refused_pgp?: { file: string; failed_path: string; error: string }[];
  /** OpenPGP uploads that could not be decrypted for another reason (a missing key): left in in_progress/ for the next poll */
  pgp_errors?: { file: string; error: string }[];
}

export interface InboxBatchInput {
  inbox: string;
  batch: PendingBatch;
  settings: InboxSettings;
  /** submit with a local activity (every poll since it exists sets it; histories from before have a remote one) */
  local_submit?: boolean;
}

export interface InboxBatchResult {
  id: string;
  status: 'submitted' | 'failed';
  http_status?: number;
  attempts?: number;
  files: BatchFile[];
  error?: { type: string; message: string; status?: number };
}

const sftpOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
};
const { inboxScan, inboxClaim, inboxFinishBatch } = proxyActivities<InboxActivities>(sftpOptions);
/** one OpenPGP file, SFTP → SFTP while streaming: as long as the file takes, a dead worker noticed by the heartbeat */
const { inboxDecrypt } = proxyActivities<InboxActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: ['ConfigInvalid', 'InboxUnknown', 'InboxDecryptRefused'] },
});
const { notifySlack } = proxyActivities<{ notifySlack(n: FailureNotice): Promise<{ sent: boolean }> }>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
});

function describe(err: unknown): { type: string; message: string; status?: number } {
  let cur: unknown = err;
  while ((cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure || (cur instanceof Error && !(cur instanceof ApplicationFailure))) && (cur as { cause?: unknown }).cause) {
    cur = (cur as { cause?: unknown }).cause;
  }
  if (cur instanceof ApplicationFailure) {
    const d = cur.details?.[0] as { status?: number } | undefined;
    return { type: cur.type ?? 'Error', message: cur.message, status: d?.status };
  }
  return { type: 'Error', message: cur instanceof Error ? cur.message : String(cur) };
}

const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const names = (files: { filename: string }[]) => files.map((f) => f.filename);
const short = (list: string[], n = 5) => (list.length <= n ? list.join(', ') : `${list.slice(0, n).join(', ')} and ${list.length - n} more`);

/** One batch: sign and submit (retried with backoff), then record it; a final refusal moves its files to failed/. */
export async function InboxBatchWorkflow(input: InboxBatchInput): Promise<InboxBatchResult> {
  const { inbox, batch, settings } = input;
  // the poll starts its batches with these set (one history event and one visibility write fewer per batch)
  if (workflowInfo().typedSearchAttributes.get(InboxNameKey) === undefined) {
    upsertSearchAttributes([
      { key: InboxNameKey, value: inbox },
      { key: InboxStatusKey, value: 'running' },
    ]);
  }
  setCurrentDetails(`Inbox **${inbox}** batch ${batch.id}: submitting ${batch.files.length} file(s): ${short(names(batch.files))}`);
  const submitOptions = {
    startToCloseTimeout: settings.api.timeout_ms + 10_000,
    retry: {
      initialInterval: settings.api.retry_initial_ms,
      backoffCoefficient: 2,
      maximumInterval: settings.api.retry_max_ms,
      maximumAttempts: settings.api.max_attempts,
      nonRetryableErrorTypes: ['InboxApiRejected', 'InboxUnknown'],
    },
  };
  // The call runs as a local activity: inside the batch's first workflow task, no activity task
  // and no second workflow task (half the batch's round trips through Temporal). Same retries,
  // backoff and Retry-After; a longer backoff becomes a timer. Batches started without
  // `local_submit` (before this change) replay with the (remote) activity they scheduled.
  const { inboxSubmit } = input.local_submit ? proxyLocalActivities<InboxActivities>(submitOptions) : proxyActivities<InboxActivities>(submitOptions);
  let r: Awaited<ReturnType<typeof inboxSubmit>>;
  try {
    r = await inboxSubmit({ inbox, batchId: batch.id, files: batch.files });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const error = describe(err);
    log.warn('inbox batch failed; moving its files to failed/', { inbox, batch: batch.id, type: error.type });
    await inboxFinishBatch({ inbox, batchId: batch.id, files: batch.files, outcome: 'failed', error });
    upsertSearchAttributes([{ key: InboxStatusKey, value: 'failed' }]);
    setCurrentDetails(`Inbox **${inbox}** batch ${batch.id} failed: ${error.type}: ${error.message}. Files moved to failed/.`);
    if (settings.notify) {
      const info = workflowInfo();
      try {
        await notifySlack({
          title: `bq-sftp inbox ${inbox}: batch of ${batch.files.length} file(s) failed`,
          date: new Date().toISOString().slice(0, 10),
          failed_step: 'submit',
          error_type: error.type,
          error_message: error.message,
          workflow_id: info.workflowId,
          run_id: info.runId,
          lines: [`*Inbox:* ${inbox}`, `*Files (moved to failed/):* ${short(names(batch.files), 10)}`],
        });
      } catch (notifyErr) {
        log.error('failure notice could not be sent to Slack', { error: describe(notifyErr).message });
      }
    }
    throw ApplicationFailure.create({ type: error.type, message: `batch ${batch.id}: ${error.message}`, nonRetryable: true, details: [{ status: error.status }] });
  }
  const fin = r.recorded ? { files: batch.files } : await inboxFinishBatch({ inbox, batchId: batch.id, files: batch.files, outcome: 'submitted' });
  upsertSearchAttributes([{ key: InboxStatusKey, value: 'succeeded' }]);
  setCurrentDetails(`Inbox **${inbox}** batch ${batch.id}: ${batch.files.length} file(s) submitted (HTTP ${r.status}, attempt ${r.attempt}): ${short(names(batch.files), 10)}`);
  return { id: batch.id, status: 'submitted', http_status: r.status, attempts: r.attempt, files: fin.files };
}

async function runBatches(inbox: string, claim: InboxClaimResult, settings: InboxSettings): Promise<InboxBatchOutcome[]> {
  const out: InboxBatchOutcome[] = new Array(claim.batches.length);
  let next = 0;
  const lane = async () => {
    while (next < claim.batches.length) {
      const i = next++;
      const b = claim.batches[i];
      const workflowId = batchWorkflowId(inbox, b.id);
      const base = { id: b.id, workflow_id: workflowId, files: names(b.files), recovered: b.recovered };
      try {
        await executeChild(InboxBatchWorkflow, {
          workflowId,
          args: [{ inbox, batch: b, settings, local_submit: true }],
          // a batch that succeeded can never run again under its ID; one that was terminated can
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          typedSearchAttributes: [
            { key: InboxNameKey, value: inbox },
            { key: InboxStatusKey, value: 'running' },
          ],
        });
        out[i] = { ...base, status: 'submitted' };
      } catch (err) {
        if (isCancellation(err)) throw err;
        if (err instanceof WorkflowExecutionAlreadyStartedError) out[i] = { ...base, status: 'already_done' };
        else out[i] = { ...base, status: 'failed', error: (({ type, message }) => `${type}: ${message}`)(describe(err)) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.max_parallel_batches, claim.batches.length) }, lane));
  return out;
}

/**
 * One poll of an inbox: one look at the source folder, claim the complete uploads by renaming
 * them into in_progress/MMDDYYYY/, batch them (with any stranded files) and submit each batch
 * as a child workflow. Runs as `inbox-<name>-poll`, so two polls of one inbox never overlap.
 */
export async function InboxPollWorkflow(input: InboxPollInput): Promise<InboxPollResult> {
  const { inbox } = input;
  const workflowId = workflowInfo().workflowId;
  upsertSearchAttributes([
    { key: InboxNameKey, value: inbox },
    { key: InboxStatusKey, value: 'running' },
  ]);
  setCurrentDetails(`Polling inbox **${inbox}**`);
  const scan = await inboxScan({ inbox });
  setCurrentDetails(`Inbox **${inbox}**: ${scan.complete.length} complete upload(s), ${scan.waiting.length} still growing; claiming`);
  let claim = await inboxClaim({ inbox, files: scan.complete.map((f) => f.name) });
  const decrypted: NonNullable<InboxPollResult['decrypted']> = [];
  const refusedPgp: NonNullable<InboxPollResult['refused_pgp']> = [];
  const decryptErrors: { file: string; type: string; message: string }[] = [];
  if (claim.encrypted?.length) {
    const encrypted = claim.encrypted;
    setCurrentDetails(`Inbox **${inbox}**: decrypting ${encrypted.length} OpenPGP file(s): ${short(encrypted.map(baseOf))}`);
    let next = 0;
    const lane = async () => {
      while (next < encrypted.length) {
        const path = encrypted[next++];
        let r: InboxDecryptResult;
        try {
          r = await inboxDecrypt({ inbox, path });
        } catch (err) {
          if (isCancellation(err)) throw err;
          decryptErrors.push({ file: path, ...describe(err) });
          continue;
        }
        if (r.status === 'decrypted') decrypted.push({ file: path, backup_path: r.backup_path });
        else if (r.status === 'rejected') refusedPgp.push({ file: path, failed_path: r.failed_path, error: `${r.error.type}: ${r.error.message}` });
      }
    };
    await Promise.all(Array.from({ length: Math.min(scan.settings.max_parallel_batches, encrypted.length) }, lane));
    // batch the plaintext files (and keep what the first claim found)
    const first = claim;
    const again = await inboxClaim({ inbox, files: [], decrypted: decrypted.map((d) => d.backup_path) });
    const firstRecovered = new Map(first.batches.map((b) => [b.id, b.recovered]));
    claim = { ...first, batches: again.batches.map((b) => ({ ...b, recovered: firstRecovered.get(b.id) ?? b.recovered })), stranded: [...first.stranded, ...again.stranded] };
    if ((refusedPgp.length || decryptErrors.length) && scan.settings.notify) {
      const info = workflowInfo();
      const firstProblem = refusedPgp.length ? { type: refusedPgp[0].error.split(':')[0], message: refusedPgp[0].error } : { type: decryptErrors[0].type, message: decryptErrors[0].message };
      try {
        await notifySlack({
          title: `bq-sftp inbox ${inbox}: ${refusedPgp.length + decryptErrors.length} OpenPGP file(s) not decrypted`,
          date: new Date().toISOString().slice(0, 10),
          failed_step: 'decrypt',
          error_type: firstProblem.type,
          error_message: firstProblem.message,
          workflow_id: info.workflowId,
          run_id: info.runId,
          lines: [
            `*Inbox:* ${inbox}`,
            ...refusedPgp.map((r) => `*Refused, moved to ${r.failed_path} (not submitted):* ${r.error}`),
            ...decryptErrors.map((e) => `*Left in in_progress (retried at the next poll):* ${baseOf(e.file)}: ${e.type}: ${e.message}`),
          ].slice(0, 12),
        });
      } catch (notifyErr) {
        log.error('failure notice could not be sent to Slack', { error: describe(notifyErr).message });
      }
    }
  }
  if (claim.batches.length) {
    setCurrentDetails(`Inbox **${inbox}**: claimed ${claim.claimed.length} file(s); submitting ${claim.batches.length} batch(es)`);
  }
  const batches = await runBatches(inbox, claim, scan.settings);
  const failed = batches.filter((b) => b.status === 'failed');
  upsertSearchAttributes([{ key: InboxStatusKey, value: failed.length || refusedPgp.length || decryptErrors.length ? 'failed' : 'succeeded' }]);
  const lines = [
    `Inbox **${inbox}**: claimed ${claim.claimed.length} file(s) into in_progress/${claim.date_folder}/` + (claim.claimed.length ? `: ${short(claim.claimed.map((c) => c.name), 8)}` : ''),
    `${batches.length} batch(es): ${batches.filter((b) => b.status === 'submitted').length} submitted, ${failed.length} failed, ${batches.filter((b) => b.status === 'already_done').length} already done`,
  ];
  if (decrypted.length) lines.push(`${decrypted.length} OpenPGP file(s) decrypted (signature checked where partner keys are set): ${short(decrypted.map((d) => baseOf(d.file)))}`);
  if (refusedPgp.length) lines.push(`${refusedPgp.length} OpenPGP file(s) refused, moved to failed/ (not submitted): ${short(refusedPgp.map((r) => r.error))}`);
  if (decryptErrors.length) lines.push(`${decryptErrors.length} OpenPGP file(s) not decrypted, left in in_progress/: ${short(decryptErrors.map((e) => `${baseOf(e.file)}: ${e.type}: ${e.message}`))}`);
  if (claim.stranded.length) lines.push(`${claim.stranded.length} stranded file(s) from in_progress/ batched again`);
  if (scan.waiting.length) lines.push(`${scan.waiting.length} upload(s) still growing, left for the next poll: ${short(scan.waiting)}`);
  if (scan.refused.length) lines.push(`${scan.refused.length} name(s) left alone: ${short(scan.refused.map((r) => `${JSON.stringify(r.name)} (${r.reason})`))}`);
  if (claim.lost.length) lines.push(`${claim.lost.length} file(s) taken by another poller: ${short(claim.lost)}`);
  setCurrentDetails(lines.join('\n\n'));
  return {
    inbox,
    workflow_id: workflowId,
    date_folder: claim.date_folder,
    claimed: claim.claimed,
    waiting: scan.waiting,
    refused: scan.refused,
    lost: claim.lost,
    stranded: claim.stranded,
    batches,
    ...(claim.encrypted?.length ? { decrypted, refused_pgp: refusedPgp, pgp_errors: decryptErrors.map((e) => ({ file: e.file, error: `${e.type}: ${e.message}` })) } : {}),
  };
}

/**
 * What an inbox's Schedule starts: the poll as the child `inbox-<name>-poll`, so a scheduled poll
 * and a manual one (or two schedules' runs) never run at once; if one runs, this one is skipped.
 */
export async function InboxScheduledPollWorkflow(input: InboxPollInput): Promise<InboxPollResult> {
  upsertSearchAttributes([{ key: InboxNameKey, value: input.inbox }]);
  try {
    return await executeChild(InboxPollWorkflow, { workflowId: pollWorkflowId(input.inbox), args: [input], workflowIdReusePolicy: 'ALLOW_DUPLICATE' });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const reason = `another poll of inbox ${input.inbox} is running (${pollWorkflowId(input.inbox)}); skipped`;
    upsertSearchAttributes([{ key: InboxStatusKey, value: 'skipped' }]);
    setCurrentDetails(reason);
    return { inbox: input.inbox, workflow_id: workflowInfo().workflowId, skipped: reason, claimed: [], waiting: [], refused: [], lost: [], stranded: [], batches: [] };
  }
}
