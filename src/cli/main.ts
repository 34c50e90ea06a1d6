import { Command, CommanderError } from 'commander';
import { registerSftpCommands } from './sftp';
import { registerRunCommands } from './runs';
import { registerWorkerCommand } from './worker';
import { registerScheduleCommands } from './schedules';
import { registerServeCommand } from './serve';

/** The `bq-sftp` command. Each module registers its own verbs. */
export function buildProgram(): Command {
  const program = new Command('bq-sftp')
    .description('Durable data movement between BigQuery / Cloud Storage and SFTP, orchestrated by Temporal')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerRunCommands(program);
  registerWorkerCommand(program);
  registerScheduleCommands(program);
  registerServeCommand(program);
  registerSftpCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`bq-sftp: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
