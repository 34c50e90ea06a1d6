/**
 * Turns zod issues into `path: message` pairs that name the field and say what is expected,
 * without ever repeating the value that was given (it may be a password or a key).
 */
import type { z } from 'zod';
import type { ConfigIssue } from './errors';
import { hasControlChars, knownKeysAt } from './schema';

type ZodIssue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/**
 * A key that cannot be shown as is: a long one (a pasted blob) is shortened and one with control
 * characters is escaped, both quoted, so a key can neither flood the message nor forge a line.
 */
function quotedKey(key: string): string | undefined {
  if (key.length <= 100 && !hasControlChars(key)) return undefined;
  return `[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`;
}

/** Dotted path; array indices as `[i]`; long or control-character keys as `["…"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    const quoted = typeof seg === 'string' ? quotedKey(seg) : undefined;
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (quoted) out += quoted;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a non-finite number';
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  record: 'an object',
};

/**
 * The error map used while parsing a config: default messages for the generic issues. Field
 * specific messages written in the schema take precedence. It sees the input but never puts
 * it into a message: only its kind ("got a number").
 */
export const configErrorMap = (iss: RawIssue): string | undefined => {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'required';
      const expected = EXPECTED[iss.expected] ?? String(iss.expected);
      return `must be ${expected}, got ${kindOf(iss.input)}`;
    }
    case 'invalid_value':
      return `must be one of ${iss.values.map((v) => String(v)).join(', ')}`;
    case 'too_small':
      if (iss.origin === 'string' && Number(iss.minimum) === 1) return 'must not be empty';
      if (iss.origin === 'string') return `must be at least ${iss.minimum} characters`;
      if (iss.origin === 'array') return `must have at least ${iss.minimum} items`;
      return `must be at least ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${iss.maximum} characters`;
      if (iss.origin === 'array') return `must have at most ${iss.maximum} items`;
      return `must be at most ${iss.maximum}`;
    default:
      return undefined;
  }
};

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      // two neighbouring letters swapped (`hots` for `host`) is one typo, not two
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest known key to a misspelt one, if it is close enough to be a typo. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) return undefined; // no known key is that long (and the distance is O(n·m))
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = norm(k) === norm(key) ? 0 : editDistance(key.toLowerCase(), k.toLowerCase());
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(1, Math.floor(key.length / 3)) ? best.k : undefined;
}

/** zod issues → one `ConfigIssue` per problem (one per unknown key), in document order. */
export function toConfigIssues(issues: readonly ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path) ?? [];
      for (const key of issue.keys) {
        const hint = suggestKey(key, known);
        const message = hint
          ? `unknown key (did you mean "${hint}"?)`
          : `unknown key${known.length ? `: allowed keys are ${known.join(', ')}` : ''}`;
        out.push({ path: formatPath([...issue.path, key]), message });
      }
    } else if (issue.code === 'invalid_key') {
      // Only export names are record keys in this config.
      const message = issue.issues[0]?.message ?? 'is not a valid key';
      out.push({ path: formatPath(issue.path), message });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}
