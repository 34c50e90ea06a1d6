/**
 * The lean worker's settings as the Docker image and `bin/lean-worker.js` give them — one malloc
 * arena, 1 MiB semi-spaces, the lean heap growth — for the benches' lean and split set-ups.
 * BENCH_LEAN_NODE_OPTIONS replaces the node options (to try other V8 settings).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LEAN_HEAP_GROWING_PERCENT } = require('../bin/lean-worker.js') as { LEAN_HEAP_GROWING_PERCENT: string };

export function leanWorkerEnv(): Record<string, string> {
  return { MALLOC_ARENA_MAX: '1', BQSFTP_HEAP_GROWING_PERCENT: LEAN_HEAP_GROWING_PERCENT, NODE_OPTIONS: process.env.BENCH_LEAN_NODE_OPTIONS || '--max-semi-space-size=1' };
}

/** the settings as the benches' lines name them */
export const LEAN_SETTINGS = `MALLOC_ARENA_MAX=1, --max-semi-space-size=1, a ${LEAN_HEAP_GROWING_PERCENT} % heap growth`;
