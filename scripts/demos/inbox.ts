import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../src/config';
import { clientFor } from '../../src/cli/config-option';
import { startPoll } from '../../src/inbox/client';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { requireStack } from '../../src/stack/stack-check';
import { createWorker } from '../../src/worker';

/**
 * The inbox family (seed 004) end to end: a dozen PDFs dropped into a demo inbox on the stack's
 * sshd, one poll that claims them into in_progress/MMDDYYYY/ and submits them in signed batches
 * of 5 to a local receiver that checks every signature.
 */
export async function run(): Promise<void> {
  const info = await requireStack();
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const secret = crypto.randomBytes(24).toString('base64url');
  const receiver = await startInboxReceiver({ secret });
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const base = `/upload/demo-inbox-${stamp}`;
  const user = info.sftp.passwordUser;
  const config = validateConfig({
    ...demo,
    sftp: { ...demo.sftp, host: info.sftp.host, port: info.sftp.port, username: user.username, password: user.password, private_key_path: undefined, passphrase: undefined, directory: '/upload', host_key: info.sftp.knownHostsLine },
    temporal: { ...demo.temporal, task_queue: `bq-sftp-demo-inbox` },
    inboxes: { demo_inbox: { path: base, api: { url: receiver.url, secret, profile_code: 'DEMO', uploaded_by: 'demo', source: 'SFTP demo inbox' } } },
  }, 'the demo inbox config');

  // a dozen finished uploads, as the partner's SFTP client would leave them
  const local = path.join(user.localRoot, base, 'input');
  fs.mkdirSync(local, { recursive: true });
  const { uid, gid } = fs.statSync(path.join(user.localRoot, '/upload'));
  for (const dir of [path.dirname(local), local]) fs.chownSync(dir, uid, gid);
  const names = ['invoice 2025-001.pdf', 'Rechnung März.pdf', 'scan #42.pdf', 'contract_final (2).pdf', ...Array.from({ length: 8 }, (_, i) => `statement-${i + 1}.pdf`)];
  const old = new Date(Date.now() - 60_000);
  for (const n of names) {
    const p = path.join(local, n);
    fs.writeFileSync(p, `%PDF-1.4\n% ${n}\n${'x'.repeat(4096)}\n%%EOF\n`);
    fs.chownSync(p, uid, gid);
    fs.utimesSync(p, old, old);
  }
  process.stdout.write(`\nDropped ${names.length} PDFs into ${base}/input on the SFTP server (${user.username}@${info.sftp.host}:${info.sftp.port}).\n`);
  process.stdout.write(`A local receiver that checks every signature listens on ${receiver.url}\n\nPolling inbox "demo_inbox" …\n`);

  const client = await clientFor(config);
  const worker = await createWorker({ config });
  try {
    const poll = await startPoll(client, config, 'demo_inbox');
    const result = await worker.runUntil(poll.result);
    process.stdout.write(`\nClaimed ${result.claimed.length} file(s) (upload complete: size and mtime stable) into ${base}/in_progress/${result.date_folder}/:\n`);
    for (const c of result.claimed) process.stdout.write(`    ${c.name}\n`);
    process.stdout.write(`\n${result.batches.length} batch(es), each a child workflow whose ID comes from its files:\n`);
    for (const b of result.batches) process.stdout.write(`    ${b.status.padEnd(10)} ${b.workflow_id}  ${b.files.length} file(s): ${b.files.join(', ')}\n`);
    process.stdout.write(`\nThe receiver got ${receiver.requests.length} request(s):\n`);
    for (const r of receiver.requests) {
      process.stdout.write(`    Idempotency-Key ${r.idempotency_key}  signature ${r.signature_problem ? `INVALID (${r.signature_problem})` : 'valid'}  HTTP ${r.status}  ${r.files.length} file(s)\n`);
    }
    process.stdout.write(`    first body: ${JSON.stringify(receiver.requests[0]?.body)}\n`);
    process.stdout.write(
      `\nTry next:\n  npx bq-sftp inbox list -c <config with "inboxes">\n  npx bq-sftp inbox status <name> -c …\n  .tools/bin/temporal workflow list --query "InboxName='demo_inbox'"\n` +
        `\nSee this poll in the Temporal Web UI:\n  ${poll.url}\n`,
    );
  } finally {
    await client.connection.close();
    await receiver.close();
    await worker.deps.sftpPool.closeAll();
  }
}
