import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expirationRule, withExpirationRule, type LifecycleRule } from '../../src/gcs/lifecycle';

test('gcs.expiration_days becomes one delete rule per export prefix; other rules are kept', () => {
  const other: LifecycleRule = { action: { type: 'SetStorageClass', storageClass: 'NEARLINE' }, condition: { age: 7 } };
  assert.deepEqual(withExpirationRule([], 'a/', 30), [expirationRule('a/', 30)]);
  assert.equal(withExpirationRule([other, expirationRule('a/', 30)], 'a/', 30), undefined, 'already there: no change');
  assert.deepEqual(withExpirationRule([other, expirationRule('a/', 10)], 'a/', 30), [other, expirationRule('a/', 30)], 'age changed: replaced');
  assert.deepEqual(withExpirationRule([expirationRule('b/', 5)], 'a/', 30), [expirationRule('b/', 5), expirationRule('a/', 30)]);
});
