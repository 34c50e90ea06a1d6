import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { clientFor } from '../../src/cli/config-option';
import { createWorker, type WorkerOptions } from '../../src/worker';
import { createStorage } from '../../src/gcs/client';
import { stack, uniqueId } from './stack';

/** Runs `fn` with a client while a worker for the config's task queue runs in this process. */
export async function withWorker<T>(config: Config, fn: (client: Client) => Promise<T>, opts: Partial<WorkerOptions> = {}): Promise<T> {
  const worker = await createWorker({ config, ...opts });
  const client = await clientFor(config);
  try {
    return await worker.runUntil(fn(client));
  } finally {
    await client.connection.close();
  }
}

/** The local path of an SFTP folder of the password user (the jail is on this machine). */
export function localSftpPath(remote: string, user: 'passwordUser' | 'keyUser' = 'passwordUser'): string {
  return path.join(stack().sftp[user].localRoot, remote);
}

export function listLocal(remoteDir: string, user: 'passwordUser' | 'keyUser' = 'passwordUser'): string[] {
  const dir = localSftpPath(remoteDir, user);
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

export function storage() {
  const info = stack();
  return createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
}

export async function gcsBytes(name: string): Promise<Buffer> {
  const [data] = await storage().bucket(stack().gcs.bucket).file(name).download();
  return data;
}

/** A unique export name for one test, so workflow IDs never collide across tests and runs. */
export function exportName(base: string): string {
  return uniqueId(base).replace(/-/g, '_');
}

/** Creates an SFTP folder directly on disk, owned like the user's /upload, as if they made it. */
export function mkdirLocal(remoteDir: string, user: 'passwordUser' | 'keyUser' = 'passwordUser'): void {
  const dir = localSftpPath(remoteDir, user);
  fs.mkdirSync(dir, { recursive: true });
  const { uid, gid } = fs.statSync(localSftpPath('/upload', user));
  fs.chownSync(dir, uid, gid);
}
