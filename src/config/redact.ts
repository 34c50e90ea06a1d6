/**
 * Secrets in the config, and a printable copy without them.
 * No Node built-ins here: workflow code may import this module.
 */
import type { Config } from './schema';
import { parseKeyRing } from '../codec/keys';

export const REDACTED = '***';

/** Every secret field of the config, as [block, key]. */
export const SECRET_FIELDS = [
  ['sftp', 'password'],
  ['sftp', 'private_key'],
  ['sftp', 'passphrase'],
  ['slack', 'webhook_url'],
  ['temporal', 'api_key'],
  ['http', 'auth_token'],
  ['encryption', 'keys'],
] as const;

type Block = Record<string, unknown>;

/** A deep copy of the config with every secret that is set replaced by `***`, for printing and logs. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  for (const [block, key] of SECRET_FIELDS) {
    const b = (copy as unknown as Record<string, Block | undefined>)[block];
    if (b && b[key] !== undefined) b[key] = REDACTED;
  }
  return copy;
}

/** The secret values the config holds (non-empty), e.g. to assert that none reaches a log or history. */
export function configSecrets(config: Config): string[] {
  const out: string[] = [];
  for (const [block, key] of SECRET_FIELDS) {
    const v = (config as unknown as Record<string, Block | undefined>)[block]?.[key];
    if (typeof v === 'string' && v !== '') out.push(v);
  }
  // each key on its own too: a leak of one key is as bad as a leak of the whole ring
  const ring = (config as Partial<Config>).encryption?.keys;
  if (ring) out.push(...parseKeyRing(ring).entries.map((e) => e.base64));
  return out;
}
