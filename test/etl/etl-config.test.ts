/**
 * The `etl` config block: a valid pipeline gets the seed's defaults; every guard is refused on
 * its own with a message naming the field; secrets are redacted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactConfig, validateConfig } from '../../src/config';
import { etlValidationSchema } from '../../src/etl/config';
import { pipelineSchema, validateRecord } from '../../src/etl/validation';
import { parseCsv } from '../../src/etl/lookups';
import { configErrorOf, minimalRaw } from '../config/fixtures';

const lookup = { file: '/data/departments.csv', key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' } };

function withPipeline(p: Record<string, unknown>, name = 'users'): Record<string, unknown> {
  return { ...minimalRaw(), etl: { pipelines: { [name]: { source: { url: 'http://127.0.0.1:8099/users' }, ...p } } } };
}

function issuePaths(raw: unknown): string[] {
  return configErrorOf(() => validateConfig(raw)).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('etl config', () => {
  it("fills in the seed's defaults", () => {
    const cfg = validateConfig(withPipeline({ lookups: [lookup] }));
    const p = cfg.etl.pipelines.users;
    assert.equal(p.source.page_size, 100);
    assert.equal(p.source.limit_param, 'limit');
    assert.equal(p.source.skip_param, 'skip');
    assert.equal(p.source.records_key, 'users');
    assert.equal(p.source.attempts, 3);
    assert.deepEqual(p.validation.age, { min: 18, max: 65 });
    assert.equal(p.lookups[0].on_missing, 'dead_letter');
    assert.equal(p.schedule.cron, '0 3 * * *');
    assert.equal(p.sftp, 'default');
    assert.equal(validateConfig(minimalRaw()).etl.sqlite_path, 'etl.db', 'configs without etl stay valid');
  });

  const guards: [string, Record<string, unknown>, RegExp][] = [
    ['source.url not http', { source: { url: 'ftp://x/users' } }, /etl\.pipelines\.users\.source\.url: must be the http/],
    ['page_size 0', { source: { url: 'http://x/users', page_size: 0 } }, /source\.page_size: must be a whole number between 1 and 1000/],
    ['concurrency 0', { source: { url: 'http://x/users', concurrency: 0 } }, /source\.concurrency: must be a whole number between 1 and 16/],
    ['concurrency 17', { source: { url: 'http://x/users', concurrency: 17 } }, /source\.concurrency: must be a whole number between 1 and 16/],
    ['timeout too small', { source: { url: 'http://x/users', timeout_ms: 5 } }, /source\.timeout_ms: must be a whole number between 100/],
    ['bad header name', { source: { url: 'http://x/users', headers: { 'bad header': 'x' } } }, /source\.headers.*HTTP header name/],
    ['unknown source key', { source: { url: 'http://x/users', pagesize: 10 } }, /source.*pagesize/],
    ['bad field path', { validation: { required: ['a..b'] } }, /validation\.required\[0\]: must be a field path/],
    ['bad regex', { validation: { patterns: { phone: '(' } } }, /validation\.patterns\.phone: must be a valid regular expression/],
    ['lookup without columns', { lookups: [{ ...lookup, columns: {} }] }, /lookups\[0\]\.columns: must name at least one column/],
    ['lookup on_missing', { lookups: [{ ...lookup, on_missing: 'skip' }] }, /lookups\[0\]\.on_missing: must be one of dead_letter, null/],
    ['sqlite and postgres', { database: { sqlite_path: 'a.db', postgres_url: 'postgres://u@h/d' } }, /database\.postgres_url: set either sqlite_path or postgres_url/],
    ['postgres_url not postgres', { database: { postgres_url: 'mysql://u@h/d' } }, /database\.postgres_url: must be a postgres:\/\/ URL/],
    ['relative remote_base', { remote_base: 'upload/etl' }, /remote_base: must be an absolute path/],
    ['remote_base with ..', { remote_base: '/upload/../etc' }, /remote_base: must not contain '\.\.'/],
    ['bad cron', { schedule: { cron: 'daily' } }, /schedule\.cron: must be a cron expression/],
    ['unknown sftp connection', { sftp: 'partner_x' }, /partner_x/],
  ];
  for (const [what, p, message] of guards) {
    it(`refuses ${what}, naming the field`, () => {
      const raw = withPipeline(p);
      const pl = (raw.etl as { pipelines: Record<string, Record<string, unknown>> }).pipelines.users;
      if (!('source' in p)) pl.source = { url: 'http://127.0.0.1:8099/users' };
      const issues = issuePaths(raw);
      assert.ok(issues.some((i) => message.test(i)), issues.join('\n'));
    });
  }

  it('refuses a bad pipeline name', () => {
    const issues = issuePaths(withPipeline({}, 'bad name!'));
    assert.ok(issues.some((i) => /not a valid pipeline name/.test(i)), issues.join('\n'));
  });

  it('redacts the source token, secret headers and the PostgreSQL password', () => {
    const cfg = validateConfig(withPipeline({
      source: { url: 'http://x/users', auth_token: 'tok-secret-1', api_key: 'key-secret-2' },
      database: { postgres_url: 'postgres://u@h/d', postgres_password: 'pw-secret-3' },
    }));
    const text = JSON.stringify(redactConfig(cfg));
    for (const s of ['tok-secret-1', 'key-secret-2', 'pw-secret-3']) assert.ok(!text.includes(s), s);
  });

  it('validation rules: config extensions name field and rule', () => {
    const s = pipelineSchema(etlValidationSchema.parse({ age: { min: 21, max: 60 }, required: ['phone'], patterns: { phone: '^\\+' }, one_of: { gender: ['female', 'male'] } }));
    const base = { id: 1, firstName: 'A', email: 'a@example.com', age: 30, company: { department: 'Sales' }, phone: '+1', gender: 'female' };
    assert.equal(validateRecord(s, base).ok, true);
    const reject = (rec: unknown) => {
      const r = validateRecord(s, rec);
      return r.ok ? 'ok' : r.rule;
    };
    assert.equal(reject({ ...base, age: 20 }), 'age:min');
    assert.equal(reject({ ...base, phone: undefined }), 'phone:required');
    assert.equal(reject({ ...base, phone: '555' }), 'phone:pattern');
    assert.equal(reject({ ...base, gender: 'x' }), 'gender:one_of');
    assert.equal(reject([1, 2]), 'record:object');
    assert.equal(reject({ ...base, id: undefined }), 'id:required');
  });

  it('parses RFC 4180 CSV (quotes, doubled quotes, CRLF)', () => {
    assert.deepEqual(parseCsv('department,code\r\n"Research, Dev",RND\r\n"Say ""hi""",SH\n'), [['department', 'code'], ['Research, Dev', 'RND'], ['Say "hi"', 'SH']]);
  });
});
