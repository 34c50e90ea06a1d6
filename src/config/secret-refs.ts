/**
 * Secrets by reference: wherever the config holds a value, `{"env": "VAR"}` stands for the
 * environment variable VAR (empty counts as unset), so nothing a user must keep secret has to be
 * written into the config file. Resolved before validation; the config records where each came from.
 */
import type { ConfigIssue } from './errors';
import type { Env } from './env';
import { isSecretKey } from './redact';

export const REQUIRE_SECRET_REFS_ENV = 'BQSFTP_REQUIRE_SECRET_REFS';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface SecretRefs {
  /** the raw config with every reference replaced by its value (unset ones left out) */
  value: unknown;
  /** config path (`connections.sftp.partner_a.password`) → the env var it comes from, set or not */
  refs: Map<string, { env: string; set: boolean }>;
  issues: ConfigIssue[];
}

function isEnvRef(v: unknown): v is { env: unknown } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && 'env' in v;
}

export function resolveSecretRefs(raw: unknown, env: Env): SecretRefs {
  const refs = new Map<string, { env: string; set: boolean }>();
  const issues: ConfigIssue[] = [];
  const walk = (v: unknown, path: string[]): unknown => {
    if (isEnvRef(v)) {
      const where = path.join('.');
      if (typeof v.env !== 'string' || !ENV_NAME.test(v.env)) {
        issues.push({ path: `${where}.env`, message: 'must name an environment variable, e.g. {"env": "PARTNER_A_SFTP_PASSWORD"}' });
        return undefined;
      }
      const value = env[v.env];
      const set = value !== undefined && value !== '';
      refs.set(where, { env: v.env, set });
      if (!set) issues.push({ path: where, message: `environment variable ${v.env} is not set (the config reads this field from it)` });
      return set ? value : undefined;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const r = walk(x, [...path, k]);
        // defineProperty: a "__proto__" key stays a key (and is then refused as unknown), not a prototype
        if (r !== undefined || !isEnvRef(x)) Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  return { value: walk(raw, []), refs, issues };
}

/**
 * With BQSFTP_REQUIRE_SECRET_REFS=1 (a production guard), a secret written into the config as a
 * plain string is an error: it must come from `{"env": …}` or one of the loader's env variables.
 */
export function plainSecretIssues(raw: unknown, refs: Map<string, unknown>, fromEnv: Map<string, string>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...path, String(i)]));
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      const p = [...path, k];
      const where = p.join('.');
      if (isSecretKey(k, path) && typeof x === 'string' && !refs.has(where) && !fromEnv.has(where)) {
        issues.push({
          path: where,
          message: `is written into the config, but ${REQUIRE_SECRET_REFS_ENV}=1 requires secrets by reference: use {"env": "SOME_VARIABLE"}`,
        });
      } else {
        walk(x, p);
      }
    }
  };
  walk(raw, []);
  return issues;
}
