import { Command, CommanderError } from 'commander';
import { isConfigError } from '../config/errors';
import { CliFailure, EXIT_FAILURE, EXIT_REFUSED } from './output';
import { registerSftpCommands } from './sftp';
import { registerRunCommands } from './runs';
import { registerReplayCommand, registerWorkerCommand } from './worker';
import { registerScheduleCommands } from './schedules';
import { registerServeCommand } from './serve';
import { registerCodecServerCommand } from './codec-server';
import { registerConfigCommands } from './config';
import { registerIngestCommands } from './ingest';
import { registerEtlCommands } from './etl';
import { registerBackupCommands } from './backup';
import { registerInboxCommands } from './inbox';
import { registerPgpCommands } from './pgp';
import { versionLine } from '../version';

/**
 * The `bq-sftp` command. Each module registers its own verbs. Registering must stay cheap: a
 * command module loads the Temporal SDK, cloud clients, OpenPGP, database drivers, … only inside
 * its actions (`require` through a small accessor), so `--help`, `--version` and `config check`
 * load none of them (test/cli/lazy-load.test.ts).
 */
export function buildProgram(): Command {
  const program = new Command('bq-sftp')
    .description('Durable data movement between BigQuery / Cloud Storage and SFTP, orchestrated by Temporal')
    .version(versionLine(), '-V, --version', 'print the bq-sftp and Temporal SDK versions')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit status: 0 done; 1 failed (the reason is on stderr); 2 bad input: an invalid config (every problem\n' +
        'listed as `path: message`), an unknown export, a bad date, argument or option, or a refused action;\n' +
        '3 `status`: no such run.',
    )
    .exitOverride();
  registerRunCommands(program);
  registerWorkerCommand(program);
  registerReplayCommand(program);
  registerScheduleCommands(program);
  registerServeCommand(program);
  registerCodecServerCommand(program);
  registerConfigCommands(program);
  registerSftpCommands(program);
  registerIngestCommands(program);
  registerEtlCommands(program);
  registerBackupCommands(program);
  registerInboxCommands(program);
  registerPgpCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // commander's own errors are usage errors (unknown option, missing argument, ...): bad input
    if (err instanceof CommanderError) return err.exitCode !== 0 && err.code.startsWith('commander.') ? EXIT_REFUSED : err.exitCode;
    process.stderr.write(`bq-sftp: ${err instanceof Error ? err.message : String(err)}\n`);
    if (isConfigError(err)) return EXIT_REFUSED;
    return err instanceof CliFailure ? err.exitCode : EXIT_FAILURE;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
