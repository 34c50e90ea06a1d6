import { createHash } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { isBcryptOpenSshKey, unlockOnThread } from './key-unlock';

/**
 * Decrypting a passphrase-protected OpenSSH key runs bcrypt-pbkdf (~0.3 s of CPU here); every new
 * connection would pay it again. Keep the parsed key per (key, passphrase) digest, in memory only.
 */
const parsed = new Map<string, ParsedKey>();
const opening = new Map<string, Promise<void>>();

const idOf = (key: string | Buffer, passphrase: string | undefined) => createHash('sha256').update(key).update('\0').update(passphrase ?? '').digest('hex');

/**
 * Opens a passphrase-protected OpenSSH key on a thread (key-unlock.ts) and caches it, so that
 * `parsedPrivateKey` finds it without running bcrypt-pbkdf on the event loop. Never fails: a key
 * it cannot open (a wrong passphrase, another format) is left to ssh2, which reports it.
 */
export function prepareKey(key: string | Buffer | undefined, passphrase: string | undefined): Promise<void> {
  if (key === undefined || !passphrase) return Promise.resolve();
  const id = idOf(key, passphrase);
  if (parsed.has(id)) return Promise.resolve();
  let p = opening.get(id);
  if (!p) {
    if (!isBcryptOpenSshKey(key)) return Promise.resolve();
    p = unlockOnThread(key, passphrase)
      .then(
        (plain) => {
          if (plain === undefined) return;
          const k = utils.parseKey(plain);
          if (!(k instanceof Error) && !Array.isArray(k)) parsed.set(id, k);
        },
        () => undefined,
      )
      .finally(() => opening.delete(id));
    opening.set(id, p);
  }
  return p;
}

export function parsedPrivateKey(key: string | Buffer | undefined, passphrase: string | undefined): ParsedKey | undefined {
  if (key === undefined) return undefined;
  const id = idOf(key, passphrase);
  const hit = parsed.get(id);
  if (hit) return hit;
  const result = utils.parseKey(key, passphrase);
  // errors (wrong passphrase, not a key) are left to ssh2's connect, which reports them as before
  if (result instanceof Error || Array.isArray(result)) return undefined;
  parsed.set(id, result);
  return result;
}
