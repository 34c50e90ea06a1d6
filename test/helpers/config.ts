import fs from 'node:fs';
import { configSchema, type Config } from '../../src/config';
import { stack, uniqueId } from './stack';

type DeepPartialInput = Record<string, unknown>;

/**
 * The stack's demo config with a private SFTP folder and task queue for one test, plus
 * overrides (merged one level deep per block).
 */
export function testConfig(overrides: DeepPartialInput = {}): Config {
  const demo = JSON.parse(fs.readFileSync(stack().demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const merged: Record<string, unknown> = { ...demo };
  for (const [k, v] of Object.entries(overrides)) {
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && k !== 'exports' ? { ...(demo[k] ?? {}), ...(v as object) } : v;
  }
  const folder = `/upload/${uniqueId('t')}`;
  (merged.sftp as Record<string, unknown>).directory ??= folder;
  if (!overrides.sftp || !(overrides.sftp as Record<string, unknown>).directory) (merged.sftp as Record<string, unknown>).directory = folder;
  (merged.temporal as Record<string, unknown>).task_queue = uniqueId('tq');
  return configSchema.parse(merged);
}
