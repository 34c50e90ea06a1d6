/**
 * The validation rules of a pipeline as one zod schema: the seed's rules (id, firstName, email,
 * age 18–65, company.department) extended by the pipeline's config (age range, more required
 * fields, patterns, allowed values) or in code with `extendUserSchema`. A record that fails gets
 * an `error_reason` naming the field and the rule, e.g. `age: max — must be at most 65 (got 70)`,
 * and a rule key (`age:max`) the run counts by.
 */
import { z } from 'zod';
import type { EtlValidationConfig } from './config';

const splitPaths = new Map<string, string[]>();
/** `a.b.c` → ['a', 'b', 'c'], split once per path (it is asked for every record) */
export function pathParts(path: string): string[] {
  let parts = splitPaths.get(path);
  if (parts === undefined) {
    parts = path.split('.');
    if (splitPaths.size < 1000) splitPaths.set(path, parts);
  }
  return parts;
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of pathParts(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const nonEmpty = (what: string) => z.string({ error: (i) => (i.input === undefined ? `${what} is required` : `must be a string (got ${typeOf(i.input)})`) }).trim().min(1, `${what} must not be empty`);

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** The seed's rules. */
export function baseUserSchema(rules: EtlValidationConfig) {
  const { min, max } = rules.age;
  return z.looseObject({
    id: z.union([z.number().int().positive(), z.string().trim().min(1)], { error: (i) => (i.input === undefined ? 'id is required' : `must be a positive whole number or a non-empty string (got ${JSON.stringify(i.input)})`) }),
    firstName: nonEmpty('firstName'),
    email: z.email({ error: (i) => (i.input === undefined ? 'email is required' : `must be an email address (got ${JSON.stringify(i.input)})`) }),
    age: z
      .number({ error: (i) => (i.input === undefined ? 'age is required' : `must be a number (got ${JSON.stringify(i.input)})`) })
      .min(min, { error: (i) => `must be at least ${min} (got ${String(i.input)})` })
      .max(max, { error: (i) => `must be at most ${max} (got ${String(i.input)})` }),
    company: z.looseObject({ department: nonEmpty('company.department') }, { error: (i) => (i.input === undefined ? 'company is required' : `must be an object (got ${typeOf(i.input)})`) }),
  });
}

export type UserSchema = z.ZodType<Record<string, unknown>>;

/** The pipeline's schema: the seed's rules plus the config's extensions. */
export function pipelineSchema(rules: EtlValidationConfig): UserSchema {
  const patterns = Object.entries(rules.patterns).map(([f, p]) => [f, new RegExp(p)] as const);
  return baseUserSchema(rules).superRefine((rec, ctx) => {
    for (const f of rules.required) {
      const v = getPath(rec, f);
      if (v === undefined || v === null || v === '') ctx.addIssue({ code: 'custom', path: f.split('.'), message: `${f} is required`, params: { rule: 'required' } });
    }
    for (const [f, re] of patterns) {
      const v = getPath(rec, f);
      if (v === undefined) continue;
      if (typeof v !== 'string' || !re.test(v)) ctx.addIssue({ code: 'custom', path: f.split('.'), message: `must match /${re.source}/ (got ${JSON.stringify(v)})`, params: { rule: 'pattern' } });
    }
    for (const [f, allowed] of Object.entries(rules.one_of)) {
      const v = getPath(rec, f);
      if (v !== undefined && !allowed.includes(v as never)) {
        ctx.addIssue({ code: 'custom', path: f.split('.'), message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(v)})`, params: { rule: 'one_of' } });
      }
    }
  }) as unknown as UserSchema;
}

const extensions = new Map<string, (base: UserSchema) => UserSchema>();
/** Extends a pipeline's rules in code (a worker registers this before it starts). */
export function extendUserSchema(pipeline: string, extend: (base: UserSchema) => UserSchema): void {
  extensions.set(pipeline, extend);
}
/** whether the pipeline's rules were extended in code (then only this thread knows them) */
export function hasSchemaExtension(pipeline: string): boolean {
  return extensions.has(pipeline);
}
export function schemaForPipeline(pipeline: string, rules: EtlValidationConfig): UserSchema {
  const base = pipelineSchema(rules);
  return extensions.get(pipeline)?.(base) ?? base;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const filled = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

/**
 * The same rules as `pipelineSchema` in plain code, one-sided: `true` only for a record the schema
 * accepts too (it checks the same things, never more loosely); `false` means "ask zod", which then
 * gives the verdict and the reason. Running zod on every record cost more CPU than fetching and
 * parsing it; with this, zod only sees the records that fail (and the unusual ones). A pipeline
 * extended in code (`extendUserSchema`) gets no fast path: its rules are not known here.
 * `test/etl/etl-validation.test.ts` holds both to the same answers.
 */
export function fastAcceptFor(pipeline: string, rules: EtlValidationConfig): ((rec: Record<string, unknown>) => boolean) | undefined {
  if (extensions.has(pipeline)) return undefined;
  const { min, max } = rules.age;
  const email = z.regexes.email;
  const required = rules.required;
  const patterns = Object.entries(rules.patterns).map(([f, p]) => [f, new RegExp(p)] as const);
  const oneOf = Object.entries(rules.one_of);
  return (rec) => {
    const id = rec.id;
    if (!(typeof id === 'number' ? Number.isSafeInteger(id) && id > 0 : filled(id))) return false;
    if (!filled(rec.firstName)) return false;
    const e = rec.email;
    if (typeof e !== 'string' || !email.test(e)) return false;
    const age = rec.age;
    if (typeof age !== 'number' || !Number.isFinite(age) || age < min || age > max) return false;
    const company = rec.company;
    if (!isPlainObject(company) || !filled(company.department)) return false;
    for (const f of required) {
      const v = getPath(rec, f);
      if (v === undefined || v === null || v === '') return false;
    }
    for (const [f, re] of patterns) {
      const v = getPath(rec, f);
      if (v !== undefined && (typeof v !== 'string' || !re.test(v))) return false;
    }
    for (const [f, allowed] of oneOf) {
      const v = getPath(rec, f);
      if (v !== undefined && !allowed.includes(v as never)) return false;
    }
    return true;
  };
}

export interface Rejection {
  /** `<field>:<rule>`, e.g. `age:max` */
  rule: string;
  /** `<field>: <rule> — <message>` */
  reason: string;
}

function ruleOf(issue: z.core.$ZodIssue, rec: unknown): string {
  const params = (issue as { params?: { rule?: string } }).params;
  if (params?.rule) return params.rule;
  switch (issue.code) {
    case 'invalid_type':
    case 'invalid_union':
      return getPath(rec, issue.path.map(String).join('.')) === undefined ? 'required' : 'type';
    case 'too_small':
      return issue.origin === 'string' ? 'required' : 'min';
    case 'too_big':
      return 'max';
    case 'invalid_format':
      return 'format';
    default:
      return issue.code;
  }
}

/** The record's first problem (and all of them in `reason` when there are several). */
export function validateRecord(schema: UserSchema, rec: unknown): { ok: true; value: Record<string, unknown> } | ({ ok: false } & Rejection) {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
    return { ok: false, rule: 'record:object', reason: `record: object — must be a JSON object (got ${typeOf(rec)})` };
  }
  const r = schema.safeParse(rec);
  if (r.success) return { ok: true, value: rec as Record<string, unknown> };
  const parts = r.error.issues.map((i) => {
    const field = i.path.length ? i.path.map(String).join('.') : 'record';
    const rule = ruleOf(i, rec);
    // "firstName is required" already names the field
    return { key: `${field}:${rule}`, text: `${field}: ${rule} — ${i.message}` };
  });
  return { ok: false, rule: parts[0].key, reason: parts.map((p) => p.text).join('; ') };
}
