/**
 * The batch ledger of an inbox, on the SFTP server next to the files it describes:
 * `<path>/.bq-sftp/batches.jsonl` lists every planned batch (its ID and files) and is written
 * before the batch is started; `<path>/.bq-sftp/done/<batch id>.json` is written when a batch is
 * finished (submitted, or moved to failed/). A file in in_progress/ that no batch lists was
 * claimed but never batched (a crash in between): the next claim batches it. A batch that is
 * listed but not done is started again under the same ID, so Temporal runs it at most once to
 * success and the API sees the same Idempotency-Key.
 */
import crypto from 'node:crypto';
import type { SftpSession } from '../sftp';
import { joinPath } from './naming';
import { listOrEmpty, readText, writeText } from './sftp-ops';

export interface BatchFile {
  filename: string;
  backup_path: string;
  /** size and mtime (ms) when batched: a later file at the same path (a re-upload) is another file */
  size?: number;
  mtime?: number;
}

/** What identifies a file in the ledger: its path, size and mtime (path alone for entries without them). */
export function fileKey(f: BatchFile): string {
  return f.size === undefined || f.mtime === undefined ? f.backup_path : `${f.backup_path}\0${f.size}\0${f.mtime}`;
}

export interface LedgerEntry {
  id: string;
  files: BatchFile[];
  at: string;
}

export interface DoneMarker {
  id: string;
  outcome: 'submitted' | 'failed';
  at: string;
  files: BatchFile[];
  error?: string;
}

const LEDGER = 'batches.jsonl';

/** The batch ID: a digest of the inbox name and its files (path, size, mtime), in sorted order. */
export function batchIdOf(inbox: string, files: readonly BatchFile[]): string {
  const h = crypto.createHash('sha256').update(inbox);
  for (const k of files.map(fileKey).sort()) h.update('\n').update(k);
  return h.digest('hex').slice(0, 20);
}

export async function readLedger(session: SftpSession, stateDir: string): Promise<LedgerEntry[]> {
  const text = await readText(session, joinPath(stateDir, LEDGER));
  if (!text) return [];
  const out: LedgerEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LedgerEntry;
      if (typeof e.id === 'string' && Array.isArray(e.files)) out.push(e);
    } catch {
      // a torn last line: that batch was never started (the ledger is written before the start)
    }
  }
  return out;
}

export async function writeLedger(session: SftpSession, stateDir: string, entries: readonly LedgerEntry[]): Promise<void> {
  await writeText(session, stateDir, LEDGER, entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''));
}

/** IDs of the finished batches. */
export async function doneIds(session: SftpSession, stateDir: string): Promise<Set<string>> {
  const entries = await listOrEmpty(session, joinPath(stateDir, 'done'));
  return new Set(entries.filter((e) => e.name.endsWith('.json')).map((e) => e.name.slice(0, -5)));
}

export async function writeDone(session: SftpSession, stateDir: string, marker: DoneMarker): Promise<void> {
  await writeText(session, joinPath(stateDir, 'done'), `${marker.id}.json`, JSON.stringify(marker, null, 2) + '\n');
}

export async function readDone(session: SftpSession, stateDir: string, id: string): Promise<DoneMarker | undefined> {
  const text = await readText(session, joinPath(stateDir, 'done', `${id}.json`));
  return text ? (JSON.parse(text) as DoneMarker) : undefined;
}
