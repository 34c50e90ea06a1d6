import type { Command } from 'commander';
import { loadConfig, parseRunDate, type Config } from '../config';
import { connectClient } from '../temporal/connection';
import type { Client } from '@temporalio/client';
import { EXIT_REFUSED, fail } from './output';

export function addConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <path>', 'config file (default: $CONFIG_PATH, configs/exports.json, $EXPORT_CONFIG, or SFTP_* env vars)');
}

export function loadCliConfig(opts: { config?: string }): Config {
  return loadConfig({ path: opts.config });
}

export async function clientFor(config: Config): Promise<Client> {
  return connectClient({
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
