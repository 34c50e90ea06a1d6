import type { Command } from 'commander';

/** `bq-sftp sftp …` — the SFTP toolkit's CLI (being built). */
export function registerSftpCommands(program: Command): void {
  program.command('sftp').description('SFTP toolkit: check, ls, tree, upload, download, rm, clear');
}
