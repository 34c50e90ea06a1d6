/**
 * Secrets in the config, and a printable copy without them.
 * A field is secret by its key name, wherever it sits (every family's blocks and every named
 * connection alike): see `isSecretKey`.
 * No Node built-ins here: workflow code may import this module.
 */
import type { Config } from './schema';
import { parseKeyRing } from '../codec/keys';

export const REDACTED = '***';

const SECRET_KEY = /(^|_)(password|passphrase|private_key|secret|token|api_key|webhook_url)$/;

/** Whether a config key holds a secret: `password`, `passphrase`, `private_key`, `*_secret`, `*_token`, … and `encryption.keys`. */
export function isSecretKey(key: string, parentPath: readonly string[] = []): boolean {
  if (key === 'keys' && parentPath.length === 1 && parentPath[0] === 'encryption') return true;
  if (key === 'url' && parentPath.length === 1 && parentPath[0] === 'postgres') return true; // may hold a password
  return SECRET_KEY.test(key);
}

/** The secret fields of the core blocks, as [block, key] (families' secrets are found by name). */
export const SECRET_FIELDS = [
  ['sftp', 'password'],
  ['sftp', 'private_key'],
  ['sftp', 'passphrase'],
  ['slack', 'webhook_url'],
  ['temporal', 'api_key'],
  ['http', 'auth_token'],
  ['encryption', 'keys'],
] as const;

/** Calls `visit` for every secret field that is set, with its path. */
export function forEachSecret(value: unknown, visit: (path: string[], secret: string) => void, path: string[] = []): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => forEachSecret(v, visit, [...path, String(i)]));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (isSecretKey(k, path) && typeof v === 'string') {
      if (v !== '') visit([...path, k], v);
    } else {
      forEachSecret(v, visit, [...path, k]);
    }
  }
}

/** A deep copy of the config with every secret that is set replaced by `***`, for printing and logs. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  forEachSecret(copy, (path) => {
    let node = copy as unknown as Record<string, unknown>;
    for (const p of path.slice(0, -1)) node = node[p] as Record<string, unknown>;
    node[path[path.length - 1]] = REDACTED;
  });
  return copy;
}

/** The secret values the config holds (non-empty, each once), e.g. to assert that none reaches a log or history. */
export function configSecrets(config: Config): string[] {
  const out = new Set<string>();
  forEachSecret(config, (_path, v) => out.add(v));
  // each key on its own too: a leak of one key is as bad as a leak of the whole ring
  const ring = (config as Partial<Config>).encryption?.keys;
  if (ring) for (const e of parseKeyRing(ring).entries) out.add(e.base64);
  return [...out];
}
