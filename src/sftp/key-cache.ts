import { createHash } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';

/**
 * Decrypting a passphrase-protected OpenSSH key runs bcrypt-pbkdf (~0.3 s of CPU here); every new
 * connection would pay it again. Keep the parsed key per (key, passphrase) digest, in memory only.
 */
const parsed = new Map<string, ParsedKey>();

export function parsedPrivateKey(key: string | Buffer | undefined, passphrase: string | undefined): ParsedKey | undefined {
  if (key === undefined) return undefined;
  const id = createHash('sha256').update(key).update('\0').update(passphrase ?? '').digest('hex');
  const hit = parsed.get(id);
  if (hit) return hit;
  const result = utils.parseKey(key, passphrase);
  // errors (wrong passphrase, not a key) are left to ssh2's connect, which reports them as before
  if (result instanceof Error || Array.isArray(result)) return undefined;
  parsed.set(id, result);
  return result;
}
