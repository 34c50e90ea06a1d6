import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StackLayout } from './layout';

/**
 * Services that run as another user (PostgreSQL as `postgres` when we are root; sshd reading a
 * user's authorized_keys as that user) must be able to enter their folder. A clone under a folder
 * of mode 0700 (root's home, `mktemp -d`) denies that, so such a folder then lives outside the
 * clone, in /var/lib/bq-sftp/<hash of the state dir>-<name>, and a symlink in the state dir
 * points there.
 */
export const OUTSIDE_ROOT = '/var/lib/bq-sftp';

export interface Who {
  uid: number;
  gid: number;
}

/** The per-stack prefix of the folders kept outside the clone (the SFTP jails use it bare). */
export function outsidePrefix(layout: StackLayout): string {
  return crypto.createHash('sha256').update(layout.stateDir).digest('hex').slice(0, 12);
}

function canEnter(st: fs.Stats, who: Who): boolean {
  if (who.uid === 0) return true;
  // processes we start with a uid/gid have no supplementary groups (libuv drops them)
  if (st.uid === who.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === who.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * True when `who` can traverse every existing folder on the way to `target` (and enter `target`
 * itself if it exists). Folders still to be created are ours to make enterable.
 */
export function canTraverse(target: string, who: Who): boolean {
  let existing = path.resolve(target);
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) return true;
    existing = parent;
  }
  const real = fs.realpathSync(existing);
  let dir = real;
  for (;;) {
    const st = fs.statSync(dir);
    if (st.isDirectory() && !canEnter(st, who)) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

export interface Placement {
  /** Where the service's files really live. */
  dir: string;
  /** True when that is outside the clone (then `<stateDir>/<name>` is a symlink to it). */
  outside: boolean;
}

/**
 * The decision alone: `<stateDir>/<name>` when `who` can reach it, else the folder outside the
 * clone. A state dir that already points outside keeps doing so (its data lives there).
 */
export function placementFor(layout: StackLayout, name: string, who: Who | undefined): Placement {
  const inside = path.join(layout.stateDir, name);
  const outside = path.join(OUTSIDE_ROOT, `${outsidePrefix(layout)}-${name}`);
  const link = fs.lstatSync(inside, { throwIfNoEntry: false });
  if (link?.isSymbolicLink() && fs.existsSync(inside) && (!who || canTraverse(fs.realpathSync(inside), who))) {
    const real = fs.realpathSync(inside);
    return { dir: real, outside: real !== inside };
  }
  if (!who || canTraverse(inside, who)) return { dir: inside, outside: false };
  return { dir: outside, outside: true };
}

/**
 * Makes the folder for `name` (see placementFor) and, when it is outside, the symlink to it.
 * An in-clone folder that was never usable by `who` (no `keep` file in it) is replaced by the link.
 */
export function folderFor(layout: StackLayout, name: string, who: Who | undefined, keep?: string): Placement {
  const placement = placementFor(layout, name, who);
  const inside = path.join(layout.stateDir, name);
  if (placement.outside) {
    fs.mkdirSync(OUTSIDE_ROOT, { recursive: true, mode: 0o755 });
    fs.chmodSync(OUTSIDE_ROOT, 0o755);
    fs.mkdirSync(placement.dir, { recursive: true, mode: 0o755 });
    const st = fs.lstatSync(inside, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) fs.rmSync(inside);
    else if (st?.isDirectory()) {
      if (keep && fs.existsSync(path.join(inside, keep))) {
        throw new Error(`${inside} holds data but ${name} cannot reach it (a folder above it denies access to other users); move the data or run \`npm run stack -- purge\`.`);
      }
      fs.rmSync(inside, { recursive: true, force: true });
    }
    fs.mkdirSync(path.dirname(inside), { recursive: true });
    fs.symlinkSync(placement.dir, inside);
  } else {
    fs.mkdirSync(placement.dir, { recursive: true, mode: 0o755 });
  }
  return placement;
}

/** Every folder this stack keeps outside the clone (for `purge`). */
export function outsideDirs(layout: StackLayout): string[] {
  const prefix = outsidePrefix(layout);
  try {
    return fs
      .readdirSync(OUTSIDE_ROOT)
      .filter((n) => n === prefix || n.startsWith(`${prefix}-`))
      .map((n) => path.join(OUTSIDE_ROOT, n));
  } catch {
    return [];
  }
}
