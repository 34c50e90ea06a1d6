/**
 * Looking up exports in a loaded config.
 * No Node built-ins here: workflow code may import this module.
 */
import { ConfigError } from './errors';
import type { Config, ExportConfig } from './schema';

/** Export names in config order; `enabledOnly` leaves out exports with `enabled: false`. */
export function exportNames(config: Config, opts: { enabledOnly?: boolean } = {}): string[] {
  return Object.entries(config.exports)
    .filter(([, e]) => !opts.enabledOnly || e.enabled)
    .map(([name]) => name);
}

/** The export called `name`; throws `ConfigError` type `UnknownExport` listing the known names. */
export function getExport(config: Config, name: string): ExportConfig {
  if (Object.prototype.hasOwnProperty.call(config.exports, name)) return config.exports[name];
  const known = exportNames(config);
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  const message =
    known.length > 0
      ? `unknown export ${shown}: known exports are ${known.join(', ')}`
      : `unknown export ${shown}: the config defines no exports (add one under "exports")`;
  throw new ConfigError({ type: 'UnknownExport', message, issues: [{ path: 'exports', message }] });
}

export interface EffectiveSchedule {
  cron: string;
  timezone: string;
  paused: boolean;
}

/** The export's schedule: its own `schedule` fields over the top-level `schedule`. */
export function exportSchedule(config: Config, name: string): EffectiveSchedule {
  const own = getExport(config, name).schedule ?? {};
  return {
    cron: own.cron ?? config.schedule.cron,
    timezone: own.timezone ?? config.schedule.timezone,
    paused: own.paused ?? config.schedule.paused,
  };
}
