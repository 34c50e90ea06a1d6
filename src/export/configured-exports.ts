import type { Config } from '../config';
import { exportNames } from '../config';

export function createConfiguredExports(deps: { config: Config }) {
  /** The enabled exports of the worker's config, for a fan-out that names none. */
  return async function configuredExports(): Promise<string[]> {
    return exportNames(deps.config).filter((n) => deps.config.exports[n].enabled !== false);
  };
}
