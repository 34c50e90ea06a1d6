import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import vm from 'node:vm';
import { applyHeapGrowth, collectNow, DEFAULT_HEAP_GROWING_PERCENT, HEAP_GROWING_ENV } from '../../src/temporal/heap-growth';
import type { Config } from '../../src/config';
import { runWorker } from '../../src/worker';

const root = path.resolve(__dirname, '..', '..');

/**
 * A process that keeps ~25 MB alive and streams short-lived rows through a 1 MiB young generation
 * (so they are promoted, as in a worker under load), printing its largest heap in MB.
 */
function peakHeapMb(env: Record<string, string>, opts: { late?: boolean } = {}): number {
  // late: the live data is built and collected (V8 sets its next limit with its own factor) before
  // the growth is applied, as a worker's start-up loads its modules before runWorker applies it
  const script = `
    require(${JSON.stringify(require.resolve('tsx/cjs'))});
    const { applyHeapGrowth } = require(${JSON.stringify(path.join(root, 'src/temporal/heap-growth.ts'))});
    ${opts.late ? '' : 'applyHeapGrowth();'}
    const live = []; for (let i = 0; i < 250000; i++) live.push({ i, s: 'live' + i });
    ${opts.late ? 'gc(); applyHeapGrowth();' : ''}
    let peak = 0, batch = [];
    for (let i = 0; i < 2500000; i++) {
      batch.push('row ' + i + ' ' + 'x'.repeat(40));
      if (batch.length > 20000) batch = [];
      if (i % 5000 === 0) peak = Math.max(peak, process.memoryUsage().heapTotal);
    }
    process.stdout.write(String(Math.round(peak / 1048576)));`;
  const r = spawnSync(process.execPath, ['--max-semi-space-size=1', ...(opts.late ? ['--expose-gc'] : []), '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test('the worker\'s heap growth keeps promoted garbage from piling up (peak heap well below V8\'s own heuristics)', () => {
  const own = peakHeapMb({ [HEAP_GROWING_ENV]: '0' });
  const ours = peakHeapMb({});
  assert.ok(ours < own * 0.75, `peak heap ${ours} MB with the default ${DEFAULT_HEAP_GROWING_PERCENT} %, ${own} MB with V8's heuristics`);
});

test('applied after the live heap was built (as in a worker, after its start-up), it holds from the next promoted garbage on', () => {
  const own = peakHeapMb({ [HEAP_GROWING_ENV]: '0' }, { late: true });
  const ours = peakHeapMb({}, { late: true });
  assert.ok(ours < own * 0.75, `peak heap ${ours} MB with the default ${DEFAULT_HEAP_GROWING_PERCENT} % applied late, ${own} MB with V8's heuristics`);
});

test('the collection that puts the growth in force leaves no gc() behind, in this context or a new one', () => {
  applyHeapGrowth({});
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  assert.equal(vm.runInNewContext('typeof gc'), 'undefined');
});

test('where the flag exposes no gc, the collection is skipped and nothing fails', () => {
  const asked: string[] = [];
  assert.doesNotThrow(() => collectNow((code) => (asked.push(code), vm.runInNewContext(code.replace(/typeof gc === "function"/, 'false')))));
  assert.equal(asked.length, 1);
});

test(`${HEAP_GROWING_ENV}: default ${DEFAULT_HEAP_GROWING_PERCENT}, 0 leaves V8 alone, anything else but a whole percentage is refused naming the variable`, () => {
  assert.equal(applyHeapGrowth({}), DEFAULT_HEAP_GROWING_PERCENT);
  assert.equal(applyHeapGrowth({ [HEAP_GROWING_ENV]: '100' }), 100);
  assert.equal(applyHeapGrowth({ [HEAP_GROWING_ENV]: '0' }), undefined);
  for (const bad of ['abc', '-5', '12.5', '1001']) {
    assert.throws(() => applyHeapGrowth({ [HEAP_GROWING_ENV]: bad }), new RegExp(`${HEAP_GROWING_ENV}=${bad.replace('.', '\\.')} is not a whole percentage`));
  }
  applyHeapGrowth({}); // leave this test process as a worker would be
});

test(`a worker with a bad ${HEAP_GROWING_ENV} refuses to start, naming it`, async () => {
  const before = process.env[HEAP_GROWING_ENV];
  try {
    process.env[HEAP_GROWING_ENV] = 'lots';
    // refused first thing, before the config is read or anything is connected
    await assert.rejects(runWorker({} as Config, 'activities'), new RegExp(`${HEAP_GROWING_ENV}=lots is not a whole percentage`));
  } finally {
    if (before === undefined) delete process.env[HEAP_GROWING_ENV];
    else process.env[HEAP_GROWING_ENV] = before;
  }
});
