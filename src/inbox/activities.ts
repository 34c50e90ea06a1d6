import { activityInfo, ApplicationFailure, cancellationSignal, heartbeat, log, sleep } from '@temporalio/activity';
import type { ActivityDeps } from '../activities';
import { permanentFailure, withFailureMapping } from '../activities/failures';
import type { SftpSession } from '../sftp';
import type * as PgpInbound from '../pgp/inbound';
import { lazyFunctions } from '../activities/lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { decryptRemoteFile, isPgpError } = lazyFunctions(() => require('../pgp/inbound') as typeof PgpInbound, ['decryptRemoteFile', 'isPgpError']);
import { durationMs, type InboxConfig } from './config';
import { batchIdOf, doneIds, fileKey, readDone, readLedger, writeDone, writeLedger, type BatchFile, type LedgerEntry } from './ledger';
import { baseName, dirName, folderDate, globToRegExp, hostileNameProblem, joinPath, parseFolderDate, pgpPlainName } from './naming';
import { inboxConfig, inboxEndpoint, inboxFolders, listOrEmpty, mapLimited, moveWithoutReplace, writeText } from './sftp-ops';
import { signatureHeaders } from './signature';

export type { BatchFile } from './ledger';

/** Below the inbox's state folder: plaintext being decrypted, per in_progress day folder. */
const DECRYPTING = 'decrypting';
const DECRYPT_TEMP = '.partial';

export interface InboxSettings {
  batch_size: number;
  max_parallel_batches: number;
  api: { max_attempts: number; retry_initial_ms: number; retry_max_ms: number; timeout_ms: number };
  notify: boolean;
}

export interface ScannedFile {
  name: string;
  size: number;
  mtime: number;
}

export interface InboxScanResult {
  /** complete uploads: size and mtime unchanged across `stable_for` (and old enough) */
  complete: ScannedFile[];
  /** still being written (or too young): left for a later poll */
  waiting: string[];
  /** names left alone: path separators or control characters */
  refused: { name: string; reason: string }[];
  /** entries that do not match the pattern (or are not files) */
  ignored: number;
  settings: InboxSettings;
}

export interface PendingBatch {
  id: string;
  files: BatchFile[];
  /** true when the batch was planned by an earlier poll (its files were stranded) */
  recovered: boolean;
}

export interface InboxClaimResult {
  date_folder: string;
  claimed: { name: string; backup_path: string }[];
  /** gone before the rename: claimed by someone else */
  lost: string[];
  /** files found in in_progress/ that no batch listed (claimed, then a crash before batching) */
  stranded: string[];
  batches: PendingBatch[];
  /**
   * OpenPGP files in in_progress/ to decrypt before they can be batched (inboxDecrypt, then
   * inboxClaim again); absent in histories from before decryption existed
   */
  encrypted?: string[];
}

export interface InboxDecryptInput {
  inbox: string;
  /** in_progress/MMDDYYYY/<name>.pgp */
  path: string;
}

export type InboxDecryptResult =
  | { status: 'decrypted'; file: string; name: string; backup_path: string }
  /** nothing to do: an earlier attempt finished it (or the file was removed by hand) */
  | { status: 'gone'; file: string }
  /** decryption or the signature check failed: moved to failed/MMDDYYYY/ with `<name>.error.json` */
  | { status: 'rejected'; file: string; failed_path: string; error: { type: string; message: string; key_ids: string[] } };

export interface InboxSubmitInput {
  inbox: string;
  batchId: string;
  files: BatchFile[];
}

export interface InboxSubmitResult {
  status: number;
  attempt: number;
  response: string;
  /** the batch's done marker was written too (nothing left to do when files stay in in_progress) */
  recorded: boolean;
}

export interface InboxFinishInput {
  inbox: string;
  batchId: string;
  files: BatchFile[];
  outcome: 'submitted' | 'failed';
  error?: { type: string; message: string; status?: number };
}

export interface InboxFinishResult {
  files: BatchFile[];
}

/** Whether the inbox decrypts OpenPGP uploads: its `decrypt`, else whenever the top-level `pgp` block has a decryption key. */
export function inboxDecrypts(inbox: InboxConfig, config: ActivityDeps['config']): boolean {
  if (inbox.decrypt !== undefined) return inbox.decrypt;
  const pgp = config.pgp;
  return !!pgp && (pgp.decryption_private_key !== undefined || pgp.decryption_private_key_path !== undefined);
}

/**
 * How a name is taken: `plain` (matches the pattern), `encrypted` (an OpenPGP file whose name,
 * with or without its suffix, matches, and the inbox decrypts), or undefined (not the inbox's).
 */
export function inboxMatcher(inbox: InboxConfig, config: ActivityDeps['config']): (name: string) => 'plain' | 'encrypted' | undefined {
  const match = globToRegExp(inbox.pattern);
  const decrypt = inboxDecrypts(inbox, config);
  return (name) => {
    const plain = decrypt ? pgpPlainName(name) : undefined;
    if (plain !== undefined && (match.test(name) || match.test(plain))) return 'encrypted';
    return match.test(name) ? 'plain' : undefined;
  };
}

function settingsOf(inbox: InboxConfig, config: ActivityDeps['config']): InboxSettings {
  return {
    batch_size: inbox.batch_size,
    max_parallel_batches: inbox.max_parallel_batches,
    api: { max_attempts: inbox.api.max_attempts, retry_initial_ms: inbox.api.retry_initial_ms, retry_max_ms: inbox.api.retry_max_ms, timeout_ms: inbox.api.timeout_ms },
    notify: !!config.slack?.webhook_url,
  };
}

/** Retry-After: seconds or an HTTP date → ms (capped at an hour). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, 3_600_000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.min(Math.max(0, t - now), 3_600_000);
}

/** Heartbeats every 2 s while `fn` runs, so a worker that dies is noticed within the 10 s heartbeat timeout. */
async function withHeartbeats<T>(fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => heartbeat(), 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export function createInboxActivities(deps: ActivityDeps) {
  const withSession = <T>(inbox: InboxConfig, fn: (s: SftpSession) => Promise<T>) => deps.sftpPool.withSession(inboxEndpoint(deps.config, inbox), fn);
  const configOf = (name: string) => {
    try {
      return inboxConfig(deps.config, name);
    } catch (err) {
      throw permanentFailure('InboxUnknown', (err as Error).message);
    }
  };

  /** One look at the source folder: which uploads are complete (size and mtime stable). */
  async function inboxScan(input: { inbox: string }): Promise<InboxScanResult> {
    const inbox = configOf(input.inbox);
    const folders = inboxFolders(inbox);
    const kind = inboxMatcher(inbox, deps.config);
    const stableMs = durationMs(inbox.stable_for) ?? 1200;
    const minAgeMs = durationMs(inbox.min_age) ?? 0;
    return withFailureMapping('SFTP', () => withHeartbeats(async () => {
      const refused: InboxScanResult['refused'] = [];
      let ignored = 0;
      const first = await withSession(inbox, (s) => listOrEmpty(s, folders.source));
      const candidates = new Map<string, ScannedFile>();
      for (const e of first) {
        const problem = hostileNameProblem(e.name);
        if (problem) {
          refused.push({ name: e.name, reason: problem });
          continue;
        }
        if (e.type !== 'file' || !kind(e.name)) {
          ignored++;
          continue;
        }
        candidates.set(e.name, { name: e.name, size: e.size, mtime: e.mtime.getTime() });
      }
      if (candidates.size === 0) return { complete: [], waiting: [], refused, ignored, settings: settingsOf(inbox, deps.config) };
      // stable_for 0: completeness by min_age alone, from the one listing
      if (stableMs > 0) await sleep(stableMs);
      const second = stableMs > 0 ? new Map((await withSession(inbox, (s) => listOrEmpty(s, folders.source))).map((e) => [e.name, e])) : new Map(first.map((e) => [e.name, e]));
      const complete: ScannedFile[] = [];
      const waiting: string[] = [];
      const now = Date.now();
      for (const c of candidates.values()) {
        const again = second.get(c.name);
        if (!again) continue; // gone meanwhile: someone else took it
        const stable = again.type === 'file' && again.size === c.size && again.mtime.getTime() === c.mtime;
        if (stable && now - c.mtime >= minAgeMs) complete.push(c);
        else waiting.push(c.name);
      }
      return { complete, waiting, refused, ignored, settings: settingsOf(inbox, deps.config) };
    }));
  }

  /**
   * Claims the complete files by renaming them into in_progress/MMDDYYYY/ (never replacing), then
   * batches every file of in_progress/ that no batch lists yet, records the new batches in the
   * ledger and returns every batch that is not finished (new ones and stranded ones).
   */
  async function inboxClaim(input: { inbox: string; files: string[]; decrypted?: string[] }): Promise<InboxClaimResult> {
    const inbox = configOf(input.inbox);
    const folders = inboxFolders(inbox);
    const kind = inboxMatcher(inbox, deps.config);
    const decrypts = inboxDecrypts(inbox, deps.config);
    const now = new Date();
    const date = folderDate(now, inbox.timezone);
    const target = joinPath(folders.inProgress, date);
    return withFailureMapping('SFTP', () => withHeartbeats(() =>
      withSession(inbox, async (s) => {
        await s.mkdirp(target);
        const taken = new Set((await s.list(target)).map((e) => e.name));
        const claimed: InboxClaimResult['claimed'] = [];
        const lost: string[] = [];
        await mapLimited(input.files, 16, async (name) => {
          const r = await moveWithoutReplace(s, joinPath(folders.source, name), target, name, taken);
          if (r.ok) claimed.push({ name, backup_path: r.path });
          else lost.push(name);
        });

        // everything in in_progress/<recent dates>/ that no batch lists yet
        const ledger = await readLedger(s, folders.state);
        const finished = await doneIds(s, folders.state);
        const listed = new Set(ledger.flatMap((e) => e.files.map(fileKey)));
        const oldest = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (inbox.recover_days + 1) * 86_400_000;
        const dateDirs = (await listOrEmpty(s, folders.inProgress)).filter((e) => e.type === 'dir' && (parseFolderDate(e.name) ?? 0) >= oldest);
        const unlisted: BatchFile[] = [];
        // OpenPGP files are batched once decrypted (inboxDecrypt), under their plaintext name
        const encrypted = new Set<string>();
        for (const d of dateDirs) {
          const dir = joinPath(folders.inProgress, d.name);
          for (const e of await s.list(dir)) {
            const p = joinPath(dir, e.name);
            const f = { filename: e.name, backup_path: p, size: e.size, mtime: e.mtime.getTime() };
            const k = e.type === 'file' && !hostileNameProblem(e.name) ? kind(e.name) : undefined;
            if (k === 'encrypted') encrypted.add(p);
            else if (k === 'plain' && !listed.has(fileKey(f)) && !listed.has(p)) unlisted.push(f);
          }
          // decrypted by an attempt that stopped before moving the plaintext into place
          if (!decrypts) continue;
          for (const e of await listOrEmpty(s, joinPath(folders.state, DECRYPTING, d.name))) {
            if (e.type === 'file' && !e.name.endsWith(DECRYPT_TEMP) && pgpPlainName(e.name) !== undefined) encrypted.add(joinPath(dir, e.name));
          }
        }
        unlisted.sort((a, b) => (a.backup_path < b.backup_path ? -1 : a.backup_path > b.backup_path ? 1 : 0));
        const justClaimed = new Set([...claimed.map((c) => c.backup_path), ...(input.decrypted ?? [])]);
        const stranded = unlisted.filter((f) => !justClaimed.has(f.backup_path)).map((f) => f.backup_path);

        const fresh: LedgerEntry[] = [];
        for (let i = 0; i < unlisted.length; i += inbox.batch_size) {
          const files = unlisted.slice(i, i + inbox.batch_size);
          fresh.push({ id: batchIdOf(input.inbox, files), files, at: now.toISOString() });
        }
        // finished batches older than the recovery window are forgotten (their folders are no longer scanned)
        const keepAfter = oldest - 86_400_000;
        const kept = ledger.filter((e) => !finished.has(e.id) || Date.parse(e.at) >= keepAfter);
        if (fresh.length || kept.length !== ledger.length) await writeLedger(s, folders.state, [...kept, ...fresh]);
        const freshIds = new Set(fresh.map((e) => e.id));
        const batches = [...kept, ...fresh]
          .filter((e) => !finished.has(e.id))
          .map((e) => ({ id: e.id, files: e.files, recovered: !freshIds.has(e.id) || e.files.some((f) => !justClaimed.has(f.backup_path)) }));
        claimed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        if (stranded.length) log.warn('inbox: stranded files in in_progress batched again', { inbox: input.inbox, files: stranded.length });
        return { date_folder: date, claimed, lost: lost.sort(), stranded, batches, ...(encrypted.size ? { encrypted: [...encrypted].sort() } : {}) };
      }),
    ));
  }

  /**
   * Decrypts one claimed OpenPGP file (`in_progress/<day>/<x>.pgp`) while it streams, checking the
   * partner's signature when `pgp.verification_keys` is set: the plaintext is written into
   * `.bq-sftp/decrypting/<day>/` (temp name, then rename), the encrypted file removed, then the
   * plaintext moved to `in_progress/<day>/<x>` (never replacing: `x_1.pdf` if taken), where the next
   * claim batches it. Each step can be found again by a retry. A file that does not decrypt or
   * verify is moved to failed/MMDDYYYY/ with `<name>.error.json` (the reason, the key ids) and
   * is never submitted; a missing or unusable key is a ConfigInvalid failure and leaves the file.
   */
  async function inboxDecrypt(input: InboxDecryptInput): Promise<InboxDecryptResult> {
    const inbox = configOf(input.inbox);
    const folders = inboxFolders(inbox);
    const dir = dirName(input.path);
    const name = baseName(input.path);
    const plain = pgpPlainName(name);
    if (plain === undefined || dirName(dir) !== folders.inProgress || hostileNameProblem(name)) {
      throw permanentFailure('InboxDecryptRefused', `inboxDecrypt: ${JSON.stringify(input.path)} is not an OpenPGP file in ${folders.inProgress}/<day>/`);
    }
    const tmpDir = joinPath(folders.state, DECRYPTING, baseName(dir));
    const tmp = joinPath(tmpDir, name);
    return withFailureMapping('SFTP', () => withHeartbeats(() =>
      withSession(inbox, async (s) => {
        if (await s.exists(input.path)) {
          await s.mkdirp(tmpDir);
          try {
            await decryptRemoteFile(deps.config, s, dir, name, { targetDir: tmpDir, targetName: name, tempSuffix: DECRYPT_TEMP, keepEncrypted: true, signal: cancellationSignal() });
          } catch (err) {
            if (!isPgpError(err)) throw err;
            const dest = joinPath(folders.failed, folderDate(new Date(), inbox.timezone));
            await s.mkdirp(dest);
            const taken = new Set((await s.list(dest)).map((e) => e.name));
            const r = await moveWithoutReplace(s, input.path, dest, name, taken);
            if (!r.ok) return { status: 'gone', file: input.path };
            const info = activityInfo();
            const error = { type: err.type, message: err.message, key_ids: err.keyIds };
            const report = {
              filename: name,
              claimed_as: input.path,
              failed_at: new Date().toISOString(),
              error,
              workflow_id: info.workflowExecution?.workflowId,
              run_id: info.workflowExecution?.runId,
            };
            await writeText(s, dest, `${baseName(r.path)}.error.json`, JSON.stringify(report, null, 2) + '\n');
            log.warn('inbox: an OpenPGP upload was refused and moved to failed/', { inbox: input.inbox, file: name, type: err.type });
            return { status: 'rejected', file: input.path, failed_path: r.path, error };
          }
          await s.remove(input.path);
        }
        if (!(await s.exists(tmp))) return { status: 'gone', file: input.path };
        const taken = new Set((await s.list(dir)).map((e) => e.name));
        const r = await moveWithoutReplace(s, tmp, dir, plain, taken);
        if (!r.ok) return { status: 'gone', file: input.path };
        return { status: 'decrypted', file: input.path, name: baseName(r.path), backup_path: r.path };
      }),
    ));
  }

  /** POSTs one batch, signed; 429/5xx/network errors are retried (Retry-After honoured), other 4xx are final. */
  async function inboxSubmit(input: InboxSubmitInput): Promise<InboxSubmitResult> {
    const inbox = configOf(input.inbox);
    const attempt = activityInfo().attempt;
    const body = JSON.stringify({
      files: input.files.map((f) => ({ filename: f.filename, backup_path: f.backup_path })),
      uploaded_by: inbox.api.uploaded_by,
      source: inbox.api.source,
      profile_code: inbox.api.profile_code,
    });
    return withFailureMapping('the inbox API', async () => {
      const res = await (deps.fetch ?? fetch)(inbox.api.url, {
        method: 'POST',
        headers: signatureHeaders(inbox.api.secret, body, input.batchId),
        body,
        signal: AbortSignal.timeout(inbox.api.timeout_ms),
      });
      const text = (await res.text().catch(() => '')).slice(0, 500);
      if (res.ok) {
        // record it at once (saves a round of the workflow per batch); if that fails, inboxFinishBatch does it
        let recorded = false;
        if (!inbox.done_dir) {
          try {
            await withSession(inbox, (s) => writeDone(s, inboxFolders(inbox).state, { id: input.batchId, outcome: 'submitted', at: new Date().toISOString(), files: input.files }));
            recorded = true;
          } catch (err) {
            log.warn('inbox: the done marker could not be written after the submission; the workflow records it next', { batch: input.batchId, error: (err as Error).message });
          }
        }
        return { status: res.status, attempt, response: text, recorded };
      }
      const what = `The inbox API answered HTTP ${res.status} to batch ${input.batchId}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
      if (res.status === 429 || res.status >= 500) {
        const wait = retryAfterMs(res.headers.get('retry-after'));
        throw ApplicationFailure.create({
          type: 'InboxApiUnavailable',
          message: `${what}. It is retried.`,
          details: [{ attempt, status: res.status }],
          nextRetryDelay: wait !== undefined ? Math.max(wait, 1) : undefined,
        });
      }
      throw ApplicationFailure.create({
        type: 'InboxApiRejected',
        message: `${what}. Not retried: fix the request or the API, then poll again.`,
        nonRetryable: true,
        details: [{ attempt, status: res.status }],
      });
    });
  }

  /**
   * Ends a batch: on failure its files move to failed/MMDDYYYY/ with `<name>.error.json` beside
   * them; on success to `done_dir` if configured; then the done marker is written.
   */
  async function inboxFinishBatch(input: InboxFinishInput): Promise<InboxFinishResult> {
    const inbox = configOf(input.inbox);
    const folders = inboxFolders(inbox);
    const info = activityInfo();
    return withFailureMapping('SFTP', () => withHeartbeats(() =>
      withSession(inbox, async (s) => {
        const previous = await readDone(s, folders.state, input.batchId);
        if (previous) return { files: previous.files };
        const destRoot = input.outcome === 'failed' ? folders.failed : folders.done;
        let files = input.files;
        if (destRoot) {
          const dest = joinPath(destRoot, folderDate(new Date(), inbox.timezone));
          await s.mkdirp(dest);
          const taken = new Set((await s.list(dest)).map((e) => e.name));
          files = [];
          for (const f of input.files) {
            const r = await moveWithoutReplace(s, f.backup_path, dest, f.filename, taken);
            // gone: moved by an earlier attempt of this activity (or removed by hand)
            const moved = r.ok ? r.path : f.backup_path;
            files.push({ filename: f.filename, backup_path: moved });
            if (r.ok && input.outcome === 'failed') {
              const report = {
                filename: f.filename,
                submitted_as: f.backup_path,
                batch_id: input.batchId,
                failed_at: new Date().toISOString(),
                error: input.error,
                workflow_id: info.workflowExecution?.workflowId,
                run_id: info.workflowExecution?.runId,
              };
              await writeText(s, dirName(moved), `${baseName(moved)}.error.json`, JSON.stringify(report, null, 2) + '\n');
            }
          }
        }
        await writeDone(s, folders.state, {
          id: input.batchId,
          outcome: input.outcome,
          at: new Date().toISOString(),
          files,
          error: input.error ? `${input.error.type}: ${input.error.message}` : undefined,
        });
        return { files };
      }),
    ));
  }

  return { inboxScan, inboxClaim, inboxDecrypt, inboxSubmit, inboxFinishBatch };
}

export type InboxActivities = ReturnType<typeof createInboxActivities>;
