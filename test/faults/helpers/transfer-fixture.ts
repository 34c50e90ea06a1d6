/** Objects in GCS with known sha256s, and what a folder on the SFTP server holds of them. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Storage } from '@google-cloud/storage';
import type { WorkflowHandle } from '@temporalio/client';
import { localSftpPath } from '../../helpers/export';
import { sha256 } from '../../helpers/stack';

export const FAULT_DATE = '2025-01-08';

export interface Seeded {
  gcsPath: string;
  /** file name on SFTP → sha256 of the object's bytes */
  sha: Map<string, string>;
}

/** `count` objects of `size` random bytes named like an export's files (`F_20250108-…csv`). */
export async function seedObjects(storage: Storage, bucket: string, prefix: string, count: number, size: number): Promise<Seeded> {
  const sha = new Map<string, string>();
  const b = storage.bucket(bucket);
  for (let i = 0; i < count; i++) {
    const name = `F_20250108-${String(i).padStart(12, '0')}.csv`;
    const data = crypto.randomBytes(size);
    sha.set(name, sha256(data));
    await b.file(`${prefix}/${name}`).save(data, { resumable: false });
  }
  return { gcsPath: `gs://${bucket}/${prefix}/`, sha };
}

export interface FolderState {
  /** published files → inode (a file sent again gets a new inode by the rename) */
  finals: Map<string, number>;
  partials: string[];
}

export function folderState(remoteDir: string): FolderState {
  const dir = localSftpPath(remoteDir);
  const finals = new Map<string, number>();
  const partials: string[] = [];
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (name.endsWith('.partial')) partials.push(name);
    else finals.set(name, fs.statSync(`${dir}/${name}`).ino);
  }
  return { finals, partials };
}

export interface Outcome {
  /** files whose bytes on SFTP differ from GCS, or that are missing */
  differing: string[];
  partials: string[];
  extra: string[];
}

export function compareWithGcs(remoteDir: string, seeded: Seeded): Outcome {
  const state = folderState(remoteDir);
  const differing: string[] = [];
  for (const [name, want] of seeded.sha) {
    const p = localSftpPath(`${remoteDir}/${name}`);
    if (!fs.existsSync(p) || sha256(fs.readFileSync(p)) !== want) differing.push(name);
  }
  const extra = [...state.finals.keys()].filter((n) => !seeded.sha.has(n));
  return { differing, partials: state.partials, extra };
}

/** Files published before `before` was taken that were written again by the time of `after`. */
export function sentAgain(before: FolderState, after: FolderState): string[] {
  return [...before.finals].filter(([name, ino]) => after.finals.get(name) !== ino).map(([name]) => name);
}

/** Attempts of each activity type in a run's history. */
export async function activityAttempts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const history = await handle.fetchHistory();
  const typeBySchedule = new Map<string, string>();
  const out: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) typeBySchedule.set(String(e.eventId), scheduled.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeBySchedule.get(String(started.scheduledEventId)) ?? '?';
      out[type] = Math.max(out[type] ?? 0, started.attempt ?? 1);
    }
  }
  return out;
}

export function removeLocalFolder(remoteDir: string): void {
  fs.rmSync(localSftpPath(remoteDir), { recursive: true, force: true });
}
