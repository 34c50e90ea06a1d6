/**
 * The key ring text of `encryption.keys` / `BQSFTP_ENCRYPTION_KEYS`: `id:base64,id:base64,...`.
 *
 * No Node built-ins here: the config schema (which workflow code may import) validates with it.
 * Messages name key ids and lengths, never key material.
 */

export const ENCRYPTION_KEYS_ENV = 'BQSFTP_ENCRYPTION_KEYS';
export const KEY_BYTES = 32;
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface KeyRingEntry {
  id: string;
  /** base64 of exactly 32 bytes */
  base64: string;
}

export interface KeyRingParse {
  entries: KeyRingEntry[];
  problems: string[];
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Bytes a standard (padded) base64 string decodes to, or undefined if it is not base64. */
function base64Length(s: string): number | undefined {
  if (!BASE64.test(s) || s.length % 4 !== 0) return undefined;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - pad;
}

export function parseKeyRing(text: string): KeyRingParse {
  const entries: KeyRingEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) {
    return { entries, problems: [`must list at least one key as <id>:<base64 of ${KEY_BYTES} bytes>`] };
  }
  parts.forEach((part, i) => {
    const colon = part.indexOf(':');
    if (colon <= 0) {
      problems.push(`entry ${i + 1} must be <id>:<base64 of ${KEY_BYTES} bytes> (e.g. k1:$(openssl rand -base64 32))`);
      return;
    }
    const id = part.slice(0, colon).trim();
    const base64 = part.slice(colon + 1).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push(`entry ${i + 1}: the key id must be 1-64 letters, digits, '.', '_' or '-'`);
      return;
    }
    if (seen.has(id)) {
      problems.push(`key "${id}" is listed twice`);
      return;
    }
    seen.add(id);
    const n = base64Length(base64);
    if (n === undefined) {
      problems.push(`key "${id}" is not valid base64 (generate one with: openssl rand -base64 32)`);
      return;
    }
    if (n !== KEY_BYTES) {
      problems.push(`key "${id}" must be ${KEY_BYTES} bytes for AES-256, got ${n} (generate one with: openssl rand -base64 32)`);
      return;
    }
    entries.push({ id, base64 });
  });
  return { entries, problems };
}
