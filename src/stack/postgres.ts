import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { StackLayout } from './layout';
import { folderFor } from './outside-dirs';

export const PG_USER = 'bqsftp';
export const PG_DATABASE = 'bqsftp';

export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

/** initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export interface PostgresPrepared {
  bin: string;
  dataDir: string;
  socketDir: string;
  owner?: { uid: number; gid: number };
}

export function preparePostgres(layout: StackLayout): PostgresPrepared {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found: run `npm run setup` (installs Debian `postgresql`).');
  const owner = runAs();
  // as root the server runs as `postgres`, which must be able to enter its folder: outside the
  // clone when a folder above it is closed to other users (e.g. a clone under a 0700 folder)
  const base = folderFor(layout, 'postgres', owner, path.join('data', 'PG_VERSION')).dir;
  const dataDir = path.join(base, 'data');
  const socketDir = path.join(base, 'run');
  fs.mkdirSync(socketDir, { recursive: true });
  if (owner) {
    fs.chownSync(base, owner.uid, owner.gid);
    fs.chownSync(socketDir, owner.uid, owner.gid);
  }
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (owner) fs.chownSync(dataDir, owner.uid, owner.gid);
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--no-instructions'], {
      uid: owner?.uid,
      gid: owner?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  return { bin, dataDir, socketDir, owner };
}
