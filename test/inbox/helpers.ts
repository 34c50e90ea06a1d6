import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { folderDate, pollWorkflowId } from '../../src/inbox/naming';
import type { InboxPollResult } from '../../src/inbox/workflow';
import { testConfig } from '../helpers/config';
import { localSftpPath } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';

export const SECRET = ['test', 'inbox', 'hmac', 'key', '0123456789'].join('-');

/** A config with one inbox (unique name and folder) that posts to `url`. */
export function inboxTestConfig(url: string, inbox: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): { config: Config; name: string; base: string } {
  const name = uniqueId('inb').replace(/-/g, '_');
  const base = `/upload/${uniqueId('inbox')}`;
  const { api, ...rest } = inbox as { api?: Record<string, unknown> };
  const config = testConfig({
    ...overrides,
    inboxes: {
      [name]: {
        path: base,
        stable_for: '300ms',
        ...rest,
        api: { url, secret: SECRET, profile_code: 'P1', uploaded_by: 'tests', source: 'SFTP inbox', retry_initial_ms: 100, retry_max_ms: 1000, max_attempts: 5, ...api },
      },
    },
  });
  return { config, name, base };
}

/** Creates a folder of the password user on disk, owned by them (as if they made it). */
export function mkdirOwned(remoteDir: string): string {
  const dir = localSftpPath(remoteDir);
  const { uid, gid } = fs.statSync(localSftpPath('/upload'));
  let cur = localSftpPath('/upload');
  for (const part of path.relative(cur, dir).split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    if (!fs.existsSync(cur)) fs.mkdirSync(cur);
    fs.chownSync(cur, uid, gid);
  }
  return dir;
}

/** Writes finished files into an SFTP folder directly on disk, owned by the SFTP user. */
export function dropFiles(remoteDir: string, files: Record<string, Buffer | string>, mtime?: Date): void {
  const dir = mkdirOwned(remoteDir);
  const { uid, gid } = fs.statSync(localSftpPath('/upload'));
  const when = mtime ?? new Date(Date.now() - 10_000);
  for (const [name, data] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    fs.chownSync(p, uid, gid);
    fs.utimesSync(p, when, when);
  }
}

export function pdf(i: number, size = 2048): Buffer {
  const head = Buffer.from(`%PDF-1.4\n% test document ${i}\n`);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length), 0x20 + (i % 90))]);
}

export function today(config: Config, name: string): string {
  return folderDate(new Date(), config.inboxes[name].timezone);
}

export function listDisk(remoteDir: string): string[] {
  const dir = localSftpPath(remoteDir);
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

export async function poll(client: Client, config: Config, name: string): Promise<InboxPollResult> {
  return client.workflow.execute('InboxPollWorkflow', {
    workflowId: pollWorkflowId(name),
    taskQueue: config.temporal.task_queue,
    args: [{ inbox: name }],
  }) as Promise<InboxPollResult>;
}

export { stack };
