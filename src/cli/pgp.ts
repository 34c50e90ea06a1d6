import type { Command } from 'commander';
import type * as PgpKeysModule from '../pgp/keys';
import type { KeyInfo } from '../pgp/keys';
import { addConfigOption, loadCliConfig } from './config-option';
import { CliExit, EXIT_REFUSED, guarded, printJson, printLine, processIo, type CliIo } from './output';

const DAY = 86_400_000;

// OpenPGP when `pgp check` runs, not to print the help
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgpKeys = () => require('../pgp/keys') as typeof PgpKeysModule;

export interface PgpCheckReport {
  keys: (Omit<KeyInfo, 'created' | 'expires'> & { created: string; expires: string | null; days_left: number | null; status: 'ok' | 'expiring' | 'expired' })[];
  problems: { field: string; message: string }[];
  warnings: string[];
}

/** Every configured key, described; expired keys and unreadable ones are problems, keys expiring soon warnings. */
export async function pgpCheckReport(config: Parameters<typeof PgpKeysModule.allConfiguredKeys>[0], warnDays: number, now = new Date()): Promise<PgpCheckReport> {
  const { keys, problems } = await pgpKeys().allConfiguredKeys(config);
  const warnings: string[] = [];
  const out = keys.map((k) => {
    const daysLeft = k.expires ? Math.floor((k.expires.getTime() - now.getTime()) / DAY) : null;
    const status = k.expires && k.expires.getTime() <= now.getTime() ? 'expired' : daysLeft !== null && daysLeft < warnDays ? 'expiring' : 'ok';
    if (status === 'expired') problems.push({ field: k.field, message: `the ${k.role} key ${k.fingerprint} expired on ${k.expires!.toISOString()}: get a current key from its owner` });
    if (status === 'expiring') warnings.push(`${k.field}: the ${k.role} key ${k.fingerprint} expires on ${k.expires!.toISOString()} (in ${daysLeft} days): renew it now`);
    return { ...k, created: k.created.toISOString(), expires: k.expires?.toISOString() ?? null, days_left: daysLeft, status } as PgpCheckReport['keys'][number];
  });
  return { keys: out, problems, warnings };
}

/** `bq-sftp pgp check`: load every configured OpenPGP key, print fingerprints and expiry. */
export function registerPgpCommands(program: Command, io: CliIo = processIo()): void {
  const pgp = program.command('pgp').description('OpenPGP keys of encrypted deliveries (exports.<name>.pgp, etl.pipelines.<name>.pgp, backups.<name>.pgp) and of inbound files (pgp)');
  addConfigOption(
    pgp
      .command('check')
      .description('load every configured key: fingerprints and expiry; warn on keys expiring soon; exit 2 when a key is expired or unusable')
      .option('--json', 'machine-readable output')
      .option('--warn-days <n>', 'warn about keys expiring within this many days', '30'),
  ).action(
    guarded(io, async (opts: { config?: string; json?: boolean; warnDays: string }) => {
      const warnDays = Number(opts.warnDays);
      if (!Number.isInteger(warnDays) || warnDays < 0 || warnDays > 3650) throw new CliExit(EXIT_REFUSED, '--warn-days must be a whole number of days from 0 to 3650');
      const config = loadCliConfig(opts);
      const report = await pgpCheckReport(config, warnDays);
      if (opts.json) {
        printJson(io, { valid: report.problems.length === 0, ...report });
      } else if (report.keys.length === 0 && report.problems.length === 0) {
        printLine(io, 'no OpenPGP keys configured (exports.<name>.pgp, etl.pipelines.<name>.pgp, backups.<name>.pgp, pgp)');
      } else {
        for (const k of report.keys) {
          const expiry = k.expires ? `expires ${k.expires.slice(0, 10)} (${k.status === 'expired' ? 'EXPIRED' : `${k.days_left} days left`})` : 'never expires';
          printLine(io, `${k.status === 'ok' ? 'ok  ' : k.status === 'expiring' ? 'WARN' : 'FAIL'} ${k.role.padEnd(12)} ${k.fingerprint}  ${expiry}  ${k.userIds.join(', ')}  [${k.field}]`);
        }
      }
      for (const w of report.warnings) io.stderr.write(`bq-sftp: warning: ${w}\n`);
      if (report.problems.length) {
        for (const p of report.problems) io.stderr.write(`bq-sftp: ${p.field}: ${p.message}\n`);
        throw new CliExit(EXIT_REFUSED, `${report.problems.length} OpenPGP key problem(s)`);
      }
    }),
  );
}
