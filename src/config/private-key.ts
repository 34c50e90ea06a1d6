/** Reads the SFTP private key at connect time (never at load, never passed through Temporal). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors';
import type { SftpConfig } from './schema';

/**
 * The PEM/OpenSSH text of the SFTP private key: `sftp.private_key` if set, else the file at
 * `sftp.private_key_path` (`~` expands to the home directory), else `undefined` (password auth).
 * Throws `ConfigError` (type `ConfigInvalid`, issue at `sftp.private_key_path`) when the file is
 * missing, unreadable or not a private key.
 */
export function resolveSftpPrivateKey(sftp: SftpConfig, where = 'sftp'): string | undefined {
  if (sftp.private_key !== undefined) return sftp.private_key;
  if (sftp.private_key_path === undefined) return undefined;
  const file = path.resolve(sftp.private_key_path.replace(/^~(?=$|\/)/, os.homedir()));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? `file not found: ${file}`
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied reading ${file}`
          : code === 'EISDIR'
            ? `is a directory, not a key file: ${file}`
            : `cannot read ${file} (${code ?? 'error'})`;
    throw keyError(problem, where);
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text) && !text.startsWith('PuTTY-User-Key-File-')) {
    throw keyError(`${file} does not hold a private key (expected -----BEGIN ... PRIVATE KEY-----)`, where);
  }
  return text;
}

function keyError(problem: string, where: string): ConfigError {
  const field = `${where}.private_key_path`;
  return new ConfigError({
    type: 'ConfigInvalid',
    message: `SFTP private key unusable:\n  - ${field}: ${problem}\nFix ${field}${where === 'sftp' ? ' (or SFTP_PRIVATE_KEY_PATH)' : ''} and try again.`,
    issues: [{ path: field, message: problem }],
    source: field,
  });
}
