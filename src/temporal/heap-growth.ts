import v8 from 'node:v8';
import vm from 'node:vm';

/** The default old-generation growth of a worker: the next full collection at +60 % of what survived the last. */
export const DEFAULT_HEAP_GROWING_PERCENT = 60;
export const HEAP_GROWING_ENV = 'BQSFTP_HEAP_GROWING_PERCENT';

/**
 * Keeps a worker's heap near what it really holds. V8 lets the old generation grow to 2–4× what
 * survived the last full collection before it collects again; a worker's live heap is small
 * (~35–60 MB) but streaming promotes lots of short-lived rows and chunks, so its RSS used to climb
 * 60–100 MB above idle with garbage. V8 reads this factor at every collection, so it can be set
 * once the process runs (unlike the heap sizes, which need command-line flags).
 * `BQSFTP_HEAP_GROWING_PERCENT=0` leaves V8's own heuristics.
 */
export function applyHeapGrowth(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[HEAP_GROWING_ENV]?.trim();
  const pct = raw === undefined || raw === '' ? DEFAULT_HEAP_GROWING_PERCENT : Number(raw);
  if (!Number.isInteger(pct) || pct < 0 || pct > 1000) {
    throw new Error(`${HEAP_GROWING_ENV}=${raw} is not a whole percentage between 0 and 1000 (0 = V8's own heuristics; default ${DEFAULT_HEAP_GROWING_PERCENT})`);
  }
  if (pct === 0) return undefined;
  v8.setFlagsFromString(`--heap-growing-percent=${pct}`);
  collectNow();
  return pct;
}

/**
 * One full collection now. The factor is read at a collection: the limit V8 set at its last one
 * (during start-up, with its own factor, ~3× what survived) held until the old generation reached
 * it — measured in bench P8, the first 100,000-record run's extract grew it from 39 to 129 MB of
 * mostly garbage before the next collection. `gc` is exposed only to a context made for the call.
 */
export function collectNow(evaluate: (code: string) => unknown = (code) => vm.runInNewContext(code)): void {
  v8.setFlagsFromString('--expose-gc');
  try {
    // a Node that ignores the flag exposes nothing: the worker starts anyway, the factor then
    // holds from V8's next collection
    (evaluate('typeof gc === "function" ? gc : undefined') as (() => void) | undefined)?.();
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
