import type { Command } from 'commander';
import type { Config } from '../config';
import type * as InboxClientModule from '../inbox/client';
import { inboxScheduleId } from '../inbox/naming';
import type * as InboxSftpModule from '../inbox/sftp-ops';
import { addConfigOption, loadCliConfig, withClient } from './config-option';
import { EXIT_FAILURE, EXIT_REFUSED, fail } from './output';

// The inbox family's client and SFTP side (Temporal client, ssh2) when a command runs, not to print the help.
/* eslint-disable @typescript-eslint/no-require-imports */
const inboxClient = () => require('../inbox/client') as typeof InboxClientModule;
const inboxSftp = () => require('../inbox/sftp-ops') as typeof InboxSftpModule;
/* eslint-enable @typescript-eslint/no-require-imports */

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function checkInbox(config: Config, name: string): void {
  try {
    inboxSftp().inboxConfig(config, name);
  } catch (err) {
    fail((err as Error).message, EXIT_REFUSED);
  }
}

/** `bq-sftp inbox list | poll <name> | status <name>` (seed 004). */
export function registerInboxCommands(program: Command): void {
  const inbox = program.command('inbox').description('SFTP inboxes: claim finished uploads and submit them to an API in signed batches');

  addConfigOption(inbox.command('list').description('the configured inboxes and their last poll'))
    .option('--json', 'print as JSON')
    .action((opts: { config?: string; json?: boolean }) =>
      withClient(opts, async (client, config) => {
        const { inboxConfig, inboxNames } = inboxSftp();
        const { lastPoll } = inboxClient();
        const rows = [];
        for (const name of inboxNames(config)) {
          const i = inboxConfig(config, name);
          rows.push({
            name,
            path: i.path,
            pattern: i.pattern,
            batch_size: i.batch_size,
            poll_interval: i.poll_interval,
            schedule: inboxScheduleId(config.temporal.task_queue, name),
            enabled: i.enabled,
            last_poll: await lastPoll(client, config, name),
          });
        }
        if (opts.json) return out(JSON.stringify(rows, null, 2));
        if (!rows.length) return out('No inboxes configured (add them under "inboxes" in the config).');
        for (const r of rows) {
          const lp = r.last_poll;
          const last = lp
            ? `last poll ${lp.status.toLowerCase()} ${lp.closed ?? lp.started}${lp.claimed !== undefined ? `: claimed ${lp.claimed}, ${lp.batches} batch(es)${lp.failed_batches ? `, ${lp.failed_batches} failed` : ''}` : ''}`
            : 'never polled';
          out(`${r.name.padEnd(20)} ${`${r.path}/${inboxConfig(config, r.name).source_dir}`.padEnd(36)} ${r.pattern.padEnd(8)} every ${r.poll_interval.padEnd(6)} ${last}`);
        }
      }),
    );

  addConfigOption(inbox.command('poll <name>').description('poll the inbox once now; prints what it claimed and sent'))
    .option('--json', 'print the result as JSON')
    .action((name: string, opts: { config?: string; json?: boolean }) =>
      withClient(
        opts,
        async (client, config) => {
          const p = await inboxClient().startPoll(client, config, name);
          if (!opts.json) out(p.started ? `Polling inbox ${name}: ${p.url}` : `A poll of inbox ${name} was already running; waiting for it: ${p.url}`);
          const r = await p.result;
          const failed = r.batches.filter((b) => b.status === 'failed');
          if (opts.json) {
            out(JSON.stringify({ ...r, url: p.url }, null, 2));
            return failed.length ? EXIT_FAILURE : 0;
          }
          out(`Claimed ${r.claimed.length} file(s) into in_progress/${r.date_folder ?? ''}/`);
          for (const c of r.claimed) out(`    ${c.name}  →  ${c.backup_path}`);
          if (r.stranded.length) out(`Stranded in in_progress/ and batched again: ${r.stranded.length}`);
          if (r.waiting.length) out(`Still being uploaded (next poll): ${r.waiting.join(', ')}`);
          for (const x of r.refused) out(`Left alone: ${JSON.stringify(x.name)} (${x.reason})`);
          if (r.lost.length) out(`Taken by another poller: ${r.lost.join(', ')}`);
          out(`${r.batches.length} batch(es):`);
          for (const b of r.batches) out(`    ${b.status.padEnd(12)} ${b.workflow_id}  ${b.files.length} file(s)${b.recovered ? ' (recovered)' : ''}${b.error ? `  ${b.error}` : ''}`);
          out(`Web UI: ${p.url}`);
          return failed.length ? EXIT_FAILURE : 0;
        },
        (config) => checkInbox(config, name),
      ),
    );

  addConfigOption(inbox.command('status <name>').description('files waiting, in progress (and batches not finished), failed with their reasons'))
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { config?: string; json?: boolean }) => {
      const config = loadCliConfig(opts);
      checkInbox(config, name);
      const s = await inboxClient().inboxStatus(config, name);
      if (opts.json) return out(JSON.stringify(s, null, 2));
      out(`Inbox ${name} (${s.path})`);
      out(`  waiting:     ${s.waiting.length} file(s)${s.waiting.length ? `: ${s.waiting.slice(0, 10).map((w) => w.name).join(', ')}` : ''}`);
      out(`  in progress: ${s.in_progress.reduce((n, f) => n + f.files, 0)} file(s)${s.in_progress.map((f) => `  ${f.folder}: ${f.files}`).join('')}`);
      out(`  batches not finished: ${s.pending_batches.length}`);
      out(`  failed:      ${s.failed.length} file(s)`);
      for (const f of s.failed.slice(0, 20)) out(`    ${f.file}  ${f.error ?? ''}`);
    });
}
