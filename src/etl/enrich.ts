/**
 * Applying loaded lookups to a record (lookups.ts loads them). No Node built-ins or clients here:
 * the record-staging thread imports it.
 */
import type { EtlLookupConfig } from './config';
import { getPath, pathParts } from './validation';

export interface LoadedLookup {
  config: EtlLookupConfig;
  file: string;
  table: Map<string, Record<string, string>>;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = pathParts(path);
  let cur = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    if (cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

// the output columns of a lookup's config, listed once
const outputs = new WeakMap<object, string[]>();
function outputColumns(config: EtlLookupConfig): string[] {
  let keys = outputs.get(config);
  if (keys === undefined) outputs.set(config, (keys = Object.keys(config.columns)));
  return keys;
}

/**
 * Adds the lookups' columns to a valid record (in place); a missing key is a rejection when so
 * configured, and then the record is left as it was.
 */
export function enrich(rec: Record<string, unknown>, lookups: LoadedLookup[]): { ok: true } | { ok: false; rule: string; reason: string } {
  const additions: [string, unknown][] = [];
  for (const l of lookups) {
    const raw = getPath(rec, l.config.key_field);
    const key = raw === undefined || raw === null ? '' : String(raw).trim();
    const hit = l.table.get(key);
    if (!hit && l.config.on_missing === 'dead_letter') {
      const base = l.file.split('/').pop();
      return { ok: false, rule: `${l.config.key_field}:lookup`, reason: `${l.config.key_field}: lookup — ${JSON.stringify(raw)} is not in ${base} (column "${l.config.key_column}")` };
    }
    for (const out of outputColumns(l.config)) additions.push([out, hit ? hit[out] : null]);
  }
  for (const [path, value] of additions) setPath(rec, path, value);
  return { ok: true };
}
