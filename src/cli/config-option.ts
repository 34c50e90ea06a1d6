import type { Command } from 'commander';
import type { Config } from '../config';
import type * as ConfigModule from '../config';
import type * as ConnectionModule from '../temporal/connection';
import type { Client } from '@temporalio/client';
import { parseRunDate } from '../config/date';
import { EXIT_REFUSED, fail } from './output';

// Every command module imports this one to register its options: the config loader (zod) and the
// Temporal client (gRPC) are loaded when a command runs, not to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const configModule = () => require('../config') as typeof ConfigModule;
const connectionModule = () => require('../temporal/connection') as typeof ConnectionModule;
/* eslint-enable @typescript-eslint/no-require-imports */

export function addConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <path>', 'config file (default: $CONFIG_PATH, configs/exports.json, $EXPORT_CONFIG, or SFTP_* env vars)');
}

export function loadCliConfig(opts: { config?: string }): Config {
  return configModule().loadConfig({ path: opts.config });
}

export async function clientFor(config: Config): Promise<Client> {
  return connectionModule().connectClient({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    apiKey: config.temporal.api_key,
    tls: config.temporal.tls,
    encryption: config.encryption,
  });
}

/** A run date given with `flag`; bad input is refused (exit 2) with a message that names the option. */
export function optionDate(value: string, flag: string): string {
  try {
    return parseRunDate(value);
  } catch (err) {
    return fail(`${flag}: ${(err as Error).message}`, EXIT_REFUSED);
  }
}

/**
 * Loads the config, checks the command's input (`check`: bad input is refused before anything
 * talks to Temporal), connects, runs a command and sets the process exit code from its result.
 */
export async function withClient(
  opts: { config?: string },
  fn: (client: Client, config: Config) => Promise<number | void>,
  check?: (config: Config) => void,
): Promise<void> {
  const config = loadCliConfig(opts);
  check?.(config);
  const client = await clientFor(config);
  try {
    process.exitCode = (await fn(client, config)) ?? 0;
  } finally {
    await client.connection.close();
  }
}
