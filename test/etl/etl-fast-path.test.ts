/**
 * The one-pass extract's shortcuts must not change a single answer:
 * - the plain-code validation pre-check (`fastAcceptFor`) accepts only records zod accepts;
 * - `listElementTexts` gives exactly the texts of the page's records (or declines);
 * - a processed line made by appending the lookup's column to the record's text is the same JSON
 *   as the enriched record.
 * No stack needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { etlValidationSchema } from '../../src/etl/config';
import { appendFields, listElementTexts } from '../../src/etl/json-slices';
import { enrich, parseCsv, type LoadedLookup } from '../../src/etl/lookups';
import { etlLookupSchema } from '../../src/etl/config';
import { appendableColumns } from '../../src/etl/extract-transform';
import { departmentsCsv } from '../../src/etl/users-data';
import { generateUser } from '../../src/etl/users-data';
import { extendUserSchema, fastAcceptFor, schemaForPipeline, validateRecord } from '../../src/etl/validation';

const tricky: unknown[] = [
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 0, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: -3, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 1.5, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 2 ** 60, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: '  ', firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 'u-7', firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: true, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: ' \t', email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: 7, email: 'a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: ' a@b.co', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a..b@c.de', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', age: 30, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 17.99, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 18, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 65, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 65.5, company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: '30', company: { department: 'Sales' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: [] },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: null },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: { department: '' } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: { department: ['Sales'] } },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' }, phone: '+1 555', gender: 'female' },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' }, phone: '555', gender: 'other' },
  { id: 1, firstName: 'A', email: 'a@b.co', age: 30, company: { department: 'Sales' }, phone: null },
  [],
  'text',
  null,
  42,
];

function records(): unknown[] {
  const out: unknown[] = [...tricky];
  for (let i = 1; i <= 10_000; i++) out.push(generateUser(i, 2));
  return out;
}

describe('etl one-pass shortcuts', () => {
  for (const [what, rules] of [
    ["the seed's rules", {}],
    ['a narrower age range, required phone, a pattern and one_of', { age: { min: 21, max: 60 }, required: ['phone'], patterns: { phone: '^\\+' }, one_of: { gender: ['female', 'male'] } }],
  ] as const) {
    it(`the validation pre-check accepts only what zod accepts (${what})`, () => {
      const v = etlValidationSchema.parse(rules);
      const fast = fastAcceptFor('p', v)!;
      const schema = schemaForPipeline('p', v);
      let accepted = 0;
      let zodAccepted = 0;
      for (const rec of records()) {
        const z = validateRecord(schema, rec).ok;
        if (z) zodAccepted++;
        const isObj = rec !== null && typeof rec === 'object' && !Array.isArray(rec);
        if (isObj && fast(rec as Record<string, unknown>)) {
          accepted++;
          assert.ok(z, `pre-check accepted what zod refuses: ${JSON.stringify(rec)}`);
        }
      }
      // and it is worth having: it answers for nearly all the valid records
      assert.ok(accepted >= zodAccepted * 0.99, `pre-check accepted ${accepted} of ${zodAccepted}`);
    });
  }

  it('no pre-check for a pipeline extended in code (its rules are not known to it)', () => {
    extendUserSchema('extended_in_code', (base) => base);
    assert.equal(fastAcceptFor('extended_in_code', etlValidationSchema.parse({})), undefined);
  });

  it('listElementTexts gives the exact text of each record, or declines', () => {
    const users = records().slice(0, 200);
    const compact = JSON.stringify({ total: 2, users, skip: 0 });
    assert.deepEqual(listElementTexts(compact, 'users', users.length), users.map((u) => JSON.stringify(u)));
    // spaces between values, escapes and brackets inside strings, nested lists, a repeated key (the last one counts)
    const page = ' { "users" : [1], "odd\\"key":"a]}\\\\" , "users": [ {"id":1,"n":"x\\"]}","l":[1,[2,{}]]} , "s\\u0041" ,null,true,-1.5e3 ] , "total" : 4 } ';
    const parsed = JSON.parse(page) as { users: unknown[] };
    const texts = listElementTexts(page, 'users', parsed.users.length)!;
    assert.deepEqual(texts, ['{"id":1,"n":"x\\"]}","l":[1,[2,{}]]}', '"s\\u0041"', 'null', 'true', '-1.5e3']);
    assert.deepEqual(texts.map((t) => JSON.parse(t) as unknown), parsed.users);
    // an escaped key that names the list
    assert.deepEqual(listElementTexts('{"us\\u0065rs":[{"a":1}]}', 'users', 1), ['{"a":1}']);
    // declines: a record spread over lines (pretty-printed), a count that differs, no such list, not an object
    assert.equal(listElementTexts(JSON.stringify({ users: [{ id: 1 }] }, null, 2), 'users', 1), undefined);
    assert.equal(listElementTexts(compact, 'users', users.length - 1), undefined);
    assert.equal(listElementTexts('{"items":[1]}', 'users', 1), undefined);
    assert.equal(listElementTexts('[{"users":[1]}]', 'users', 1), undefined);
    assert.deepEqual(listElementTexts('{"users":[]}', 'users', 0), []);
  });

  it('a processed line made by appending the lookup columns to the text is the enriched record, byte for byte', () => {
    const config = etlLookupSchema.parse({ file: '/x/departments.csv', key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' }, on_missing: 'null' });
    const rows = parseCsv(departmentsCsv());
    const lookups: LoadedLookup[] = [{ config, file: config.file, table: new Map(rows.slice(1).map((r) => [r[0], { department_code: r[1] }])) }];
    const cols = appendableColumns(lookups)!;
    assert.deepEqual(cols, ['department_code']);
    for (let i = 1; i <= 2000; i++) {
      const text = JSON.stringify(generateUser(i, 2));
      const rec = JSON.parse(text) as Record<string, unknown>;
      assert.ok(enrich(rec, lookups).ok);
      assert.equal(appendFields(text, cols.map((k) => [k, rec[k]])), JSON.stringify(rec));
    }
    assert.equal(appendFields(' { "a" : 1 } ', [['b', null]]), ' { "a" : 1 ,"b":null}');
    assert.equal(appendFields('{}', [['b', 1]]), undefined);
    assert.equal(appendFields('[1]', [['b', 1]]), undefined);
    // nested, integer-like or repeated output fields: the enriched object is serialised instead
    for (const columns of [{ 'meta.code': 'code' }, { '7': 'code' }] as Record<string, string>[]) {
      assert.equal(appendableColumns([{ ...lookups[0], config: { ...config, columns } }]), undefined);
    }
    assert.equal(appendableColumns([lookups[0], lookups[0]]), undefined);
  });
});
