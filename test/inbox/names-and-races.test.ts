import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncSchedules } from '../../src/export/schedules/sync';
import { clientFor } from '../../src/cli/config-option';
import { startPoll } from '../../src/inbox/client';
import { inboxScheduleId } from '../../src/inbox/naming';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { createWorker } from '../../src/worker';
import { localSftpPath, withWorker } from '../helpers/export';
import { dropFiles, inboxTestConfig, listDisk, pdf, poll, SECRET, today } from './helpers';

test('hostile names travel intact (spaces, unicode, #, 200 characters); names with path separators or control characters are left alone and reported; a name taken gets a suffix', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    const good = ['with  two spaces.pdf', 'ünïcödé 文件 ☃.pdf', 'hash#tag %20 & ?.pdf', `${'L'.repeat(196)}.pdf`, "quote's \"double\".PDF", '-leading-dash.pdf'];
    const bad = ['back\\slash.pdf', 'ctrl\u0001char.pdf', 'new\nline.pdf', 'c1\u0085ctl.pdf'];
    const files: Record<string, Buffer> = {};
    [...good, ...bad].forEach((n, i) => (files[n] = pdf(i, 1000 + i)));
    dropFiles(`${base}/input`, files);
    const result = await withWorker(config, (client) => poll(client, config, name));

    const got = receiver.requests.flatMap((r) => r.files);
    assert.deepEqual(got.map((f) => f.filename).sort(), [...good].sort(), 'every good name exactly once, byte for byte');
    const date = today(config, name);
    for (const f of got) {
      assert.equal(f.backup_path, `${base}/in_progress/${date}/${f.filename}`);
      assert.deepEqual(fs.readFileSync(localSftpPath(f.backup_path)), files[f.filename]);
    }
    assert.deepEqual(result.refused.map((r) => r.name).sort(), [...bad].sort());
    assert.ok(result.refused.every((r) => /path separator|control characters/.test(r.reason)));
    assert.deepEqual(listDisk(`${base}/input`), [...bad].sort(), 'refused names are left where they are');

    // the same name again on the same day: claimed under a suffix, nothing overwritten
    dropFiles(`${base}/input`, { 'with  two spaces.pdf': pdf(77, 3000) });
    const again = await withWorker(config, (client) => poll(client, config, name));
    assert.deepEqual(again.claimed.map((c) => c.backup_path), [`${base}/in_progress/${date}/with  two spaces_1.pdf`]);
    assert.deepEqual(fs.readFileSync(localSftpPath(`${base}/in_progress/${date}/with  two spaces.pdf`)), files['with  two spaces.pdf'], 'the first one is untouched');
    assert.equal(receiver.requests.at(-1)?.files[0].filename, 'with  two spaces_1.pdf', 'the API is told the name the file has in in_progress/');
  } finally {
    await receiver.close();
  }
});

test('two workers, the inbox Schedule and manual polls racing over three waves of uploads: every file submitted exactly once', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET, delayMs: 50 });
  const { config, name, base } = inboxTestConfig(receiver.url, { poll_interval: '1s', stable_for: '200ms' });
  const client = await clientFor(config);
  const workers = await Promise.all([createWorker({ config }), createWorker({ config })]);
  const expected: string[] = [];
  try {
    const plan = await syncSchedules(client, config);
    assert.ok(plan.create.includes(inboxScheduleId(config.temporal.task_queue, name)));
    const d = await client.schedule.getHandle(inboxScheduleId(config.temporal.task_queue, name)).describe();
    assert.equal(d.policies.overlap, 'SKIP');
    assert.equal(d.action.type === 'startWorkflow' ? d.action.workflowType : '', 'InboxScheduledPollWorkflow');

    const run = (async () => {
      for (let wave = 0; wave < 3; wave++) {
        const files: Record<string, Buffer> = {};
        for (let i = 0; i < 8; i++) files[`w${wave}-${i}.pdf`] = pdf(wave * 10 + i);
        expected.push(...Object.keys(files));
        dropFiles(`${base}/input`, files);
        const manual = await Promise.all([startPoll(client, config, name), startPoll(client, config, name), startPoll(client, config, name)]);
        await Promise.all(manual.map((m) => m.result));
        await new Promise((r) => setTimeout(r, 700));
      }
      // until every file is in and the schedule's polls have nothing left to do
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const submitted = new Set(receiver.requests.filter((r) => r.status < 300).flatMap((r) => r.files.map((f) => f.filename)));
        if (submitted.size >= expected.length) break;
        await (await startPoll(client, config, name)).result;
      }
    })();
    const scheduleHandle = client.schedule.getHandle(inboxScheduleId(config.temporal.task_queue, name));
    await Promise.all([
      workers[0].runUntil(run),
      workers[1].runUntil(
        run.then(async () => {
          // stop the schedule and let the poll it may be running finish while the workers still run
          await scheduleHandle.pause('test over');
          for (const a of (await scheduleHandle.describe()).info.runningActions) await client.workflow.getHandle(a.workflow.workflowId).result().catch(() => undefined);
        }),
      ),
    ]);
    const scheduled = (await scheduleHandle.describe()).info;
    assert.ok(scheduled.recentActions.length + scheduled.numActionsSkippedOverlap > 0, 'the schedule took part');

    const perFile = new Map<string, number>();
    for (const r of receiver.requests.filter((x) => x.status < 300 && !x.signature_problem)) for (const f of r.files) perFile.set(f.filename, (perFile.get(f.filename) ?? 0) + 1);
    assert.deepEqual([...perFile.keys()].sort(), expected.sort(), 'every file reached the receiver');
    assert.deepEqual([...perFile.values()].filter((n) => n !== 1), [], 'no file twice');
    assert.deepEqual(listDisk(`${base}/input`), []);
  } finally {
    await client.schedule.getHandle(inboxScheduleId(config.temporal.task_queue, name)).delete().catch(() => undefined);
    await client.connection.close();
    await receiver.close();
  }
});
