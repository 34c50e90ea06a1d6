import { ping } from './ping';

/** Everything an activity needs from the worker; built once per worker process. */
export type ActivityDeps = Record<string, never>;

export function createActivities(_deps: ActivityDeps = {}) {
  return { ping };
}
