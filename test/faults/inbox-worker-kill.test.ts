/**
 * Inbox: the worker is SIGKILLed after files are claimed and before the API is called (at a
 * different moment each trial: while renaming, after the renames, after the batch ledger is
 * written); a new worker process finishes the poll and the next poll picks up anything stranded.
 * Every file reaches the receiver exactly once; nothing is left in in_progress unsubmitted.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clientFor } from '../../src/cli/config-option';
import { startPoll } from '../../src/inbox/client';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { localSftpPath } from '../helpers/export';
import { dropFiles, inboxTestConfig, listDisk, pdf, SECRET, today } from '../inbox/helpers';
import { reportFigures, trials } from './helpers/figures';
import { WorkerProcess } from './helpers/worker-process';

const FILES = 12;
const TRIALS = trials(3);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-inbox-kill-'));
interface Trial { moment: string; claimedAtKill: number; submittedAtKill: number; exactlyOnce: boolean; duplicates: number; leftUnsubmitted: number; stranded: number }
const results: Trial[] = [];

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  reportFigures('inbox worker SIGKILL between claim and call', {
    trials: results.length,
    every_file_exactly_once: results.filter((r) => r.exactlyOnce).length,
    duplicate_submissions: results.reduce((n, r) => n + r.duplicates, 0),
    left_in_progress_unsubmitted: results.reduce((n, r) => n + r.leftUnsubmitted, 0),
    moments: results.map((r) => r.moment),
    claimed_at_kill: results.map((r) => r.claimedAtKill),
    requests_at_kill: results.map((r) => r.submittedAtKill),
    stranded_recovered: results.map((r) => r.stranded),
  });
});

/** Checks every 2 ms (the claim → call window is short). */
async function waitTight(what: string, check: () => true | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const MOMENTS = ['mid-claim', 'after the renames', 'after the ledger'] as const;

for (let trial = 1; trial <= TRIALS; trial++) {
  const moment = MOMENTS[(trial - 1) % MOMENTS.length];
  test(`inbox trial ${trial}/${TRIALS}: worker SIGKILLed ${moment}, before the API call; every file submitted exactly once`, async () => {
    const receiver = await startInboxReceiver({ secret: SECRET });
    const { config, name, base } = inboxTestConfig(receiver.url, { stable_for: '200ms', api: { timeout_ms: 3000 } });
    const configPath = path.join(tmp, `${name}.json`);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const raw = JSON.parse(JSON.stringify(config)) as Record<string, any>;
    raw.inboxes[name].api.secret = { env: 'INBOX_TEST_SECRET' };
    const { password, ...sftp } = raw.sftp;
    raw.sftp = sftp;
    if (raw.connections?.sftp) delete raw.connections.sftp.default; // the resolved copy of the top-level block
    fs.writeFileSync(configPath, JSON.stringify(raw));
    const env = { SFTP_PASSWORD: password, INBOX_TEST_SECRET: SECRET, BQSFTP_LOG_LEVEL: 'WARN' };
    const logPath = path.join(tmp, `${name}.log`);
    const files: Record<string, Buffer> = {};
    for (let i = 1; i <= FILES; i++) files[`scan ${String(i).padStart(2, '0')}.pdf`] = pdf(i, 64 * 1024);
    dropFiles(`${base}/input`, files);
    const date = today(config, name);
    const inProgress = localSftpPath(`${base}/in_progress/${date}`);
    const ledger = localSftpPath(`${base}/.bq-sftp/batches.jsonl`);

    const client = await clientFor(config);
    let worker = await WorkerProcess.start({ configPath, logPath, env });
    const record: Trial = { moment, claimedAtKill: 0, submittedAtKill: 0, exactlyOnce: false, duplicates: 0, leftUnsubmitted: 0, stranded: 0 };
    results.push(record);
    try {
      const p = await startPoll(client, config, name);
      const claimedCount = () => (fs.existsSync(inProgress) ? fs.readdirSync(inProgress).length : 0);
      if (moment === 'mid-claim') await waitTight('the first claimed file', () => (claimedCount() > 0 ? true : undefined));
      else if (moment === 'after the renames') await waitTight('all files claimed', () => (claimedCount() === FILES ? true : undefined));
      else await waitTight('the batch ledger', () => (fs.existsSync(ledger) ? true : undefined));
      await worker.kill();
      record.claimedAtKill = claimedCount();
      record.submittedAtKill = receiver.requests.length;

      worker = await WorkerProcess.start({ configPath, logPath, env });
      const first = await p.result;
      // the next poll batches anything the killed attempt had claimed but not listed
      const second = await (await startPoll(client, config, name)).result;
      record.stranded = second.stranded.length + first.stranded.length;

      const perFile = new Map<string, Set<string>>();
      for (const r of receiver.requests.filter((x) => x.status < 300 && !x.signature_problem)) {
        for (const f of r.files) perFile.set(f.filename, (perFile.get(f.filename) ?? new Set()).add(r.idempotency_key));
      }
      record.duplicates = [...perFile.values()].filter((keys) => keys.size > 1).length;
      const submittedPaths = new Set(receiver.requests.flatMap((r) => r.files.map((f) => f.backup_path)));
      record.leftUnsubmitted = listDisk(`${base}/in_progress/${date}`).filter((f) => !submittedPaths.has(`${base}/in_progress/${date}/${f}`)).length;
      record.exactlyOnce = perFile.size === FILES && record.duplicates === 0;
      assert.equal(receiver.requests.filter((r) => r.signature_problem).length, 0);
      assert.deepEqual([...perFile.keys()].sort(), Object.keys(files).sort(), 'every file reached the receiver');
      assert.equal(record.duplicates, 0, 'no file in two batches');
      assert.equal(record.leftUnsubmitted, 0, 'nothing left in in_progress unsubmitted');
      assert.deepEqual(listDisk(`${base}/input`), []);
    } finally {
      await worker.kill();
      await client.connection.close();
      await receiver.close();
    }
  });
}
