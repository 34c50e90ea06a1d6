/**
 * The lean worker's environment (bin/lean-worker.js): one malloc arena and a 30 % heap growth
 * unless the user chose otherwise; the launcher marks its child so it does not start itself again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lean = require('../../bin/lean-worker.js') as { leanEnv(env: Record<string, string>): Record<string, string>; LEAN_HEAP_GROWING_PERCENT: string };

test('unset: one malloc arena and the lean heap growth, the child marked', () => {
  const env = lean.leanEnv({ PATH: '/bin' });
  assert.equal(env.MALLOC_ARENA_MAX, '1');
  assert.equal(env.BQSFTP_HEAP_GROWING_PERCENT, lean.LEAN_HEAP_GROWING_PERCENT);
  assert.equal(lean.LEAN_HEAP_GROWING_PERCENT, '30');
  assert.equal(env.BQSFTP_LEAN_WORKER_CHILD, '1');
  assert.equal(env.PATH, '/bin');
});

test('a heap growth the user set is kept (0 included: V8 left alone)', () => {
  assert.equal(lean.leanEnv({ BQSFTP_HEAP_GROWING_PERCENT: '0' }).BQSFTP_HEAP_GROWING_PERCENT, '0');
  assert.equal(lean.leanEnv({ BQSFTP_HEAP_GROWING_PERCENT: '80' }).BQSFTP_HEAP_GROWING_PERCENT, '80');
});

test('an arena count the user set is kept', () => {
  assert.equal(lean.leanEnv({ MALLOC_ARENA_MAX: '2' }).MALLOC_ARENA_MAX, '2');
});
