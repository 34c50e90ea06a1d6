/**
 * SFTP operations of the inbox family: the inbox's folders, a rename that never replaces, small
 * state files (the batch ledger and the done markers, kept in `<path>/.bq-sftp/`).
 */
import { Readable } from 'node:stream';
import type { Config } from '../config';
import { isSftpError, SftpError, type SftpEndpoint, type SftpSession } from '../sftp';
import { sftpEndpointFor } from '../activities/sftp-endpoint';
import type { InboxConfig } from './config';
import { joinPath, suffixedName } from './naming';

export interface InboxFolders {
  source: string;
  inProgress: string;
  failed: string;
  done?: string;
  /** the family's own state: `batches.jsonl` and `done/<batch id>.json` */
  state: string;
}

export function inboxFolders(inbox: InboxConfig): InboxFolders {
  return {
    source: joinPath(inbox.path, inbox.source_dir),
    inProgress: joinPath(inbox.path, inbox.in_progress_dir),
    failed: joinPath(inbox.path, inbox.failed_dir),
    done: inbox.done_dir ? joinPath(inbox.path, inbox.done_dir) : undefined,
    state: joinPath(inbox.path, '.bq-sftp'),
  };
}

/** The inbox's config block; an unknown name is a permanent error naming the known ones. */
export function inboxConfig(config: Config, name: string): InboxConfig {
  const all = config.inboxes ?? {};
  const inbox = all[name];
  if (!inbox) {
    const known = Object.keys(all);
    throw new SftpError('SftpConfigInvalid', `No inbox named "${name}" in the config (${known.length ? `known: ${known.join(', ')}` : 'no inboxes are configured'}). Add it under "inboxes".`);
  }
  return inbox;
}

export function inboxNames(config: Config): string[] {
  return Object.keys(config.inboxes ?? {}).sort();
}

/** The SFTP endpoint of the inbox's connection (by name; the top-level `sftp` is `default`). */
export function inboxEndpoint(config: Config, inbox: InboxConfig): SftpEndpoint {
  return sftpEndpointFor(config, inbox.sftp ?? 'default');
}

export type ClaimOutcome = { ok: true; path: string } | { ok: false; reason: 'vanished' };

/**
 * Renames `from` into `dir` under its own name, or the first free `name_N.ext`; `taken` holds
 * names known to exist in `dir` (updated). A source that vanished was claimed by someone else.
 */
export async function moveWithoutReplace(session: SftpSession, from: string, dir: string, name: string, taken: Set<string>): Promise<ClaimOutcome> {
  for (let n = 0, tries = 0; tries < 100; n++) {
    const candidate = suffixedName(name, n);
    if (taken.has(candidate)) continue;
    tries++;
    taken.add(candidate);
    const to = joinPath(dir, candidate);
    try {
      await session.renameNoReplace(from, to);
      return { ok: true, path: to };
    } catch (err) {
      if (isSftpError(err, 'SftpNoSuchFile')) return { ok: false, reason: 'vanished' };
      if (!isSftpError(err) || err.type === 'SftpConnectionLost') throw err;
      // the target appeared meanwhile, or the source is gone: tell them apart
      if (!(await session.exists(from))) return { ok: false, reason: 'vanished' };
      if (!(await session.exists(to))) throw err;
    }
  }
  throw new SftpError('SftpError', `Could not find a free name for "${name}" in ${dir} after 100 tries.`);
}


export async function readText(session: SftpSession, p: string): Promise<string | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of session.createReadStream(p)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (isSftpError(err, 'SftpNoSuchFile')) return undefined;
    throw err;
  }
}

/** Writes a small file atomically (temp name, then rename over the final name). */
export async function writeText(session: SftpSession, dir: string, name: string, text: string): Promise<void> {
  await session.mkdirp(dir);
  await session.publishStream(Readable.from([Buffer.from(text, 'utf8')]), dir, name, { mode: 'rename', tempSuffix: `.${process.pid}.tmp` });
}

export async function listOrEmpty(session: SftpSession, dir: string) {
  try {
    return await session.list(dir);
  } catch (err) {
    if (isSftpError(err, 'SftpNoSuchFile')) return [];
    throw err;
  }
}

/** Runs `fn` over `items` with at most `limit` at a time, results in order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
