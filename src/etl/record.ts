/**
 * One record through the pipeline's rules and lookups: a processed record, or a dead letter
 * naming the field and the rule. No Node built-ins or clients here: the record-staging thread
 * imports it.
 */
import { enrich, type LoadedLookup } from './enrich';
import { recordId } from './rows';
import { validateRecord, type schemaForPipeline } from './validation';

export interface DeadLetter {
  line: number;
  id: string | null;
  rule: string;
  error_reason: string;
  record: unknown;
}

/** Validates and enriches one record: a processed record, or a dead letter. */
export function processRecord(
  rec: unknown,
  line: number,
  ctx: { schema: ReturnType<typeof schemaForPipeline>; lookups: LoadedLookup[]; seen?: Map<string, number>; fast?: (rec: Record<string, unknown>) => boolean },
): { ok: true; value: Record<string, unknown>; id: string } | { ok: false; dead: DeadLetter } {
  const id = recordId(rec);
  // the plain-code check answers for the records it is sure of; zod for the rest (and the reason)
  const sure = ctx.fast !== undefined && rec !== null && typeof rec === 'object' && !Array.isArray(rec) && ctx.fast(rec as Record<string, unknown>);
  const v = sure ? { ok: true as const, value: rec as Record<string, unknown> } : validateRecord(ctx.schema, rec);
  if (!v.ok) return { ok: false, dead: { line, id, rule: v.rule, error_reason: v.reason, record: rec } };
  const key = id ?? `line:${line}`;
  const first = ctx.seen?.get(key);
  if (first !== undefined) {
    return { ok: false, dead: { line, id, rule: 'id:duplicate', error_reason: `id: duplicate — id ${key} was already processed from line ${first}`, record: rec } };
  }
  // `rec` is this line's own parse: enriched in place (enrich leaves it as it was when it fails)
  const value = v.value;
  const e = enrich(value, ctx.lookups);
  if (!e.ok) return { ok: false, dead: { line, id, rule: e.rule, error_reason: e.reason, record: rec } };
  ctx.seen?.set(key, line);
  return { ok: true, value, id: key };
}
