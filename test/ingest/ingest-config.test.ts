/** The ingest block's own limits: each refused alone, naming its field; the defaults. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/config';
import { configErrorOf, minimalRaw } from '../config/fixtures';

const issuePaths = (ingest: Record<string, unknown>): string[] =>
  configErrorOf(() => validateConfig({ ...minimalRaw(), ingest })).issues.map((i) => `${i.path}: ${i.message}`);

describe('ingest config', () => {
  it('defaults: 30-minute job timeout, six event types at once, 100,000-row pages', () => {
    const cfg = validateConfig(minimalRaw());
    assert.equal(cfg.ingest.job_timeout_seconds, 1800);
    assert.equal(cfg.ingest.max_parallel, 6);
    assert.equal(cfg.ingest.page_rows, 100_000);
    assert.equal(validateConfig({ ...minimalRaw(), ingest: { page_rows: 100 } }).ingest.page_rows, 100, 'the smallest page is accepted');
  });

  const guards: [string, Record<string, unknown>, RegExp][] = [
    ['page_rows below 100', { page_rows: 99 }, /ingest\.page_rows: must be a whole number between 100 and 100000/],
    ['page_rows above 100,000', { page_rows: 100_001 }, /ingest\.page_rows: must be a whole number between 100 and 100000/],
    ['max_parallel 0', { max_parallel: 0 }, /ingest\.max_parallel: must be a whole number between 1 and 16/],
    ['job_timeout_seconds 0', { job_timeout_seconds: 0 }, /ingest\.job_timeout_seconds: must be a whole number between 1/],
  ];
  for (const [what, ingest, message] of guards) {
    it(`refuses ${what}, naming the field`, () => {
      const issues = issuePaths(ingest);
      assert.ok(issues.some((i) => message.test(i)), issues.join('\n'));
    });
  }
});
