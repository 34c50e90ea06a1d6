/** Remote (POSIX) path safety: nothing is ever written or deleted outside where it should be. */
import path from 'node:path';
import { SftpError } from './errors';

function unsafe(what: string, problem: string): SftpError {
  return new SftpError('SftpUnsafePath', `Refused ${what}: ${problem}. Nothing was written or deleted.`);
}

function controlCharIn(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // C0, DEL, C1, and the Unicode line/paragraph separators (they break log lines and listings)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

function show(s: string): string {
  return JSON.stringify(s);
}

/**
 * A plain file name: not empty, not `.` or `..`, no `/`, NUL or other control characters.
 * Throws SftpError `SftpUnsafePath`.
 */
export function assertSafeName(name: string): void {
  const what = `the file name ${show(name)}`;
  if (typeof name !== 'string' || name.length === 0) throw unsafe('an empty file name', 'a name is required');
  if (controlCharIn(name)) throw unsafe(what, 'it contains NUL or control characters');
  if (name === '.' || name === '..') throw unsafe(what, 'it names a directory, not a file');
  if (name.startsWith('/')) throw unsafe(what, 'it starts with "/"');
  if (name.split('/').includes('..')) throw unsafe(what, 'it contains ".."');
  if (name.includes('/')) throw unsafe(what, 'a plain file name is expected, without "/"');
  // a separator on Windows SFTP servers
  if (name.includes('\\')) throw unsafe(what, 'a plain file name is expected, without "\\"');
}

/**
 * Resolves `target` (relative to `baseDir`, or absolute) and refuses any result outside
 * `baseDir`, or equal to it unless `allowBase`. Returns the normalised absolute path.
 * Throws SftpError `SftpUnsafePath`.
 */
export function resolveInside(baseDir: string, target: string, opts: { allowBase?: boolean } = {}): string {
  if (!baseDir.startsWith('/')) throw unsafe(`the base folder ${show(baseDir)}`, 'it must be an absolute path');
  if (controlCharIn(baseDir)) throw unsafe(`the base folder ${show(baseDir)}`, 'it contains control characters');
  if (typeof target !== 'string' || target.length === 0) throw unsafe('an empty path', 'a path is required');
  if (controlCharIn(target)) throw unsafe(`the path ${show(target)}`, 'it contains NUL or control characters');
  const base = path.posix.normalize(baseDir).replace(/(.)\/+$/, '$1');
  const resolved = path.posix.resolve(base, target).replace(/(.)\/+$/, '$1');
  const inside = base === '/' ? resolved !== '/' : resolved.startsWith(`${base}/`);
  if (resolved === base) {
    if (opts.allowBase) return resolved;
    throw unsafe(`the path ${show(target)}`, `it is the folder ${base} itself`);
  }
  if (!inside) throw unsafe(`the path ${show(target)}`, `it is outside the folder ${base}`);
  return resolved;
}

/** Joins remote path parts (POSIX), normalising duplicate slashes. */
export function joinRemote(...parts: string[]): string {
  return path.posix.join(...parts);
}
