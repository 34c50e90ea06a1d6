import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { withWorker } from '../helpers/export';
import { dropFiles, inboxTestConfig, pdf, SECRET } from './helpers';

const bin = path.join(repoRoot, 'bin/bq-sftp.js');

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...process.env, BQSFTP_LOG_LEVEL: 'WARN' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('bq-sftp inbox poll | status | list through the real binary; an unknown inbox is refused with exit 2 naming the known ones', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET, script: [200, 400] });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url, { batch_size: 2 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-inbox-cli-'));
    const cfgPath = path.join(dir, 'config.json');
    const raw = JSON.parse(JSON.stringify(config)) as { connections?: { sftp?: Record<string, unknown> } };
    delete raw.connections?.sftp?.default;
    fs.writeFileSync(cfgPath, JSON.stringify(raw));
    dropFiles(`${base}/input`, { 'a.pdf': pdf(1), 'b.pdf': pdf(2), 'c.pdf': pdf(3), 'd.pdf': pdf(4) });

    const unknown = await cli(['inbox', 'poll', 'no_such_inbox', '-c', cfgPath]);
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /no_such_inbox/);
    assert.match(unknown.stderr, new RegExp(name), 'the error lists the known inboxes');

    const before = await cli(['inbox', 'status', name, '--json', '-c', cfgPath]);
    assert.equal(before.status, 0, before.stderr);
    assert.deepEqual(JSON.parse(before.stdout).waiting.map((w: { name: string }) => w.name), ['a.pdf', 'b.pdf', 'c.pdf', 'd.pdf']);

    const polled = await withWorker(config, () => cli(['inbox', 'poll', name, '-c', cfgPath]));
    assert.equal(polled.status, 1, 'a failed batch makes the exit status 1');
    assert.match(polled.stdout, /Claimed 4 file\(s\) into in_progress\/\d{8}\//);
    assert.match(polled.stdout, /submitted\s+inbox-.*-batch-\w+\s+2 file\(s\)/);
    assert.match(polled.stdout, /failed\s+inbox-.*-batch-\w+\s+2 file\(s\).*InboxApiRejected/);
    assert.match(polled.stdout, new RegExp(`Web UI: http://.*/workflows/inbox-${name}-poll/`));

    const after = await cli(['inbox', 'status', name, '--json', '-c', cfgPath]);
    const s = JSON.parse(after.stdout);
    assert.equal(s.waiting.length, 0);
    assert.equal(s.in_progress.reduce((n: number, f: { files: number }) => n + f.files, 0), 2);
    assert.equal(s.pending_batches.length, 0);
    assert.equal(s.failed.length, 2);
    assert.match(s.failed[0].error, /InboxApiRejected: .*HTTP 400/);

    const list = await cli(['inbox', 'list', '--json', '-c', cfgPath]);
    assert.equal(list.status, 0, list.stderr);
    const row = JSON.parse(list.stdout).find((r: { name: string }) => r.name === name);
    assert.equal(row.last_poll.status, 'COMPLETED');
    assert.equal(row.last_poll.claimed, 4);
    assert.equal(row.last_poll.failed_batches, 1);
  } finally {
    await receiver.close();
  }
});
