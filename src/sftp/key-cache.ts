import { createHash } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { isBcryptOpenSshKey, unlockOnThread } from './key-unlock';

/**
 * Decrypting a passphrase-protected OpenSSH key runs bcrypt-pbkdf (~0.3 s of CPU here); every new
 * connection would pay it again. Keep the parsed key per (key, passphrase) digest, in memory only.
 */
const parsed = new Map<string, ParsedKey>();
const opening = new Map<string, Promise<ParsedKey | undefined>>();

const idOf = (key: string | Buffer, passphrase: string | undefined) => createHash('sha256').update(key).update('\0').update(passphrase ?? '').digest('hex');

function keep(id: string, result: ReturnType<typeof utils.parseKey>): ParsedKey | undefined {
  // errors (wrong passphrase, not a key) are left to ssh2's connect, which reports them as before
  if (result instanceof Error || Array.isArray(result)) return undefined;
  parsed.set(id, result);
  return result;
}

/**
 * The parsed key, opened once per process: a passphrase-protected OpenSSH key on a thread
 * (key-unlock.ts), so bcrypt-pbkdf never runs on the event loop; any other key here, as ssh2 would.
 * Never rejects: undefined for a key that cannot be opened, which ssh2's connect then reports.
 */
export function openPrivateKey(key: string | Buffer | undefined, passphrase: string | undefined): Promise<ParsedKey | undefined> {
  if (key === undefined) return Promise.resolve(undefined);
  const id = idOf(key, passphrase);
  const hit = parsed.get(id) ?? opening.get(id);
  if (hit) return Promise.resolve(hit);
  if (!passphrase || !isBcryptOpenSshKey(key)) return Promise.resolve(keep(id, utils.parseKey(key, passphrase)));
  const p = unlockOnThread(key, passphrase)
    .then(
      (plain) => (plain === undefined ? undefined : keep(id, utils.parseKey(plain))),
      () => undefined,
    )
    .finally(() => opening.delete(id));
  opening.set(id, p);
  return p;
}

/** Opens the key in the background (a worker's connections, as it starts). */
export async function prepareKey(key: string | Buffer | undefined, passphrase: string | undefined): Promise<void> {
  await openPrivateKey(key, passphrase);
}

/** The key if this process has opened it already (no parsing). */
export function cachedPrivateKey(key: string | Buffer, passphrase: string | undefined): ParsedKey | undefined {
  return parsed.get(idOf(key, passphrase));
}
