import type { Command } from 'commander';
import type * as ConfigModule from '../config';
import { addConfigOption, loadCliConfig } from './config-option';
import { printJson, printLine, processIo } from './output';

// the config loader (zod) when a command runs, not to print the help
// eslint-disable-next-line @typescript-eslint/no-require-imports
const configModule = () => require('../config') as typeof ConfigModule;

/** `bq-sftp config check|show`: validate the config without touching any server; print it with secrets redacted. */
export function registerConfigCommands(program: Command): void {
  const io = processIo();
  const config = program.command('config').description('check the config, or print it with secrets redacted');
  addConfigOption(
    config
      .command('check')
      .description('validate the config: exit 0 when valid, 2 with every problem named by its field (nothing is contacted)')
      .option('--json', 'machine-readable output'),
  ).action((opts: { config?: string; json?: boolean }) => {
    const { exportNames, sftpConnection, sftpConnectionNames } = configModule();
    const cfg = loadCliConfig(opts);
    const names = exportNames(cfg);
    if (opts.json) {
      printJson(io, { valid: true, exports: names, temporal: { address: cfg.temporal.address, namespace: cfg.temporal.namespace, task_queue: cfg.temporal.task_queue } });
      return;
    }
    printLine(io, `config OK: ${names.length} export${names.length === 1 ? '' : 's'} (${names.join(', ')})`);
    printLine(io, `  Temporal ${cfg.temporal.address}, namespace ${cfg.temporal.namespace}, task queue ${cfg.temporal.task_queue}`);
    for (const [name, c] of sftpConnectionNames(cfg).map((n) => [n, sftpConnection(cfg, n)] as const)) {
      printLine(io, `  SFTP ${name}: ${c.username}@${c.host}:${c.port} ${c.directory}`);
    }
  });
  addConfigOption(config.command('show').description('print the effective config (defaults filled in) as JSON, secrets as ***')).action(
    (opts: { config?: string }) => {
      const { loadConfigWithSource, redactConfig } = configModule();
      const loaded = loadConfigWithSource({ path: opts.config });
      const shown = redactConfig(loaded.config) as unknown as Record<string, unknown>;
      // where each secret by reference comes from, never its value
      for (const [where, ref] of loaded.secretRefs) {
        const parts = where.split('.');
        let node = shown;
        for (const p of parts.slice(0, -1)) node = (node?.[p] ?? {}) as Record<string, unknown>;
        node[parts[parts.length - 1]] = `*** (env ${ref.env}, ${ref.set ? 'set' : 'not set'})`;
      }
      printJson(io, shown);
    },
  );
}
