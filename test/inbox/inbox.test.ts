import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { localSftpPath, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { dropFiles, inboxTestConfig, listDisk, pdf, poll, SECRET, today } from './helpers';

test('12 finished PDFs → batches of 5, 5, 2: each file submitted once, signatures valid, files in in_progress/<today>/', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    const files: Record<string, Buffer> = {};
    for (let i = 1; i <= 11; i++) files[`doc-${String(i).padStart(2, '0')}.pdf`] = pdf(i);
    files['notes.txt'] = Buffer.from('not a pdf');
    files['UPPER.PDF'] = pdf(99);
    dropFiles(`${base}/input`, files);
    const result = await withWorker(config, (client) => poll(client, config, name));

    const expected = [...Object.keys(files).filter((f) => /\.pdf$/i.test(f))].sort();
    assert.equal(result.claimed.length, 12);
    assert.deepEqual(result.batches.map((b) => b.files.length), [5, 5, 2]);
    assert.ok(result.batches.every((b) => b.status === 'submitted'));
    assert.equal(receiver.requests.length, 3, 'one request per batch, no retries');
    assert.ok(receiver.requests.every((r) => r.signature_problem === undefined && r.status === 200));
    const got = receiver.requests.flatMap((r) => r.files.map((f) => f.filename)).sort();
    assert.deepEqual(got, expected, 'every file exactly once');
    const date = today(config, name);
    for (const r of receiver.requests) {
      assert.deepEqual(Object.keys(r.body).sort(), ['files', 'profile_code', 'source', 'uploaded_by']);
      assert.equal(r.body.profile_code, 'P1');
      assert.equal(new Set(receiver.requests.map((x) => x.idempotency_key)).size, 3);
      for (const f of r.files) {
        assert.equal(f.backup_path, `${base}/in_progress/${date}/${f.filename}`);
        assert.deepEqual(fs.readFileSync(localSftpPath(f.backup_path)), files[f.filename], 'bytes unchanged');
      }
    }
    assert.deepEqual(listDisk(`${base}/input`), ['notes.txt'], 'only the non-matching file is left');
    assert.deepEqual(listDisk(`${base}/in_progress/${date}`), expected);

    // a second poll finds nothing new and submits nothing again
    const again = await withWorker(config, (client) => poll(client, config, name));
    assert.equal(again.claimed.length, 0);
    assert.equal(again.batches.length, 0);
    assert.equal(receiver.requests.length, 3);
  } finally {
    await receiver.close();
  }
});

test('receiver answers 500, 500, then 200: one successful submission, the same Idempotency-Key on every attempt', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET, script: [500, 503, 200] });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    dropFiles(`${base}/input`, { 'a.pdf': pdf(1), 'b.pdf': pdf(2) });
    let histories = '';
    const result = await withWorker(config, async (client) => {
      const r = await poll(client, config, name);
      for (const id of [r.workflow_id, r.batches[0].workflow_id]) histories += JSON.stringify((await client.workflow.getHandle(id).fetchHistory()).events);
      return r;
    });
    assert.ok(histories.length > 1000 && !histories.includes(SECRET) && !histories.includes(Buffer.from(SECRET).toString('base64')), 'the HMAC secret is in no history');
    assert.deepEqual(result.batches.map((b) => b.status), ['submitted']);
    assert.deepEqual(receiver.requests.map((r) => r.status), [500, 503, 200]);
    assert.equal(new Set(receiver.requests.map((r) => r.idempotency_key)).size, 1, 'same key across retries');
    assert.ok(receiver.requests.every((r) => !r.signature_problem), 'each attempt signed (fresh timestamp)');
    assert.equal(receiver.accepted().length, 1);
  } finally {
    await receiver.close();
  }
});

test('429 with Retry-After is retried after the time the API asked for', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET, script: [429], retryAfter: '2' });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    dropFiles(`${base}/input`, { 'a.pdf': pdf(1) });
    const result = await withWorker(config, (client) => poll(client, config, name));
    assert.deepEqual(result.batches.map((b) => b.status), ['submitted']);
    assert.equal(receiver.requests.length, 2);
    // retry_initial_ms is 100 ms in tests: a gap of ≥ 2 s can only come from Retry-After
    assert.ok(receiver.requests[1].at - receiver.requests[0].at >= 1900, `waited ${receiver.requests[1].at - receiver.requests[0].at} ms`);
  } finally {
    await receiver.close();
  }
});

test('receiver answers 400: the files move to failed/<today>/ with an .error.json saying why, one Slack message, no retry', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET, script: [400] });
  const slack = await startSlackReceiver();
  try {
    const { config, name, base } = inboxTestConfig(receiver.url, {}, { slack: { webhook_url: slack.url } });
    dropFiles(`${base}/input`, { 'bad one.pdf': pdf(1), 'bad two.pdf': pdf(2) });
    const result = await withWorker(config, (client) => poll(client, config, name));
    assert.deepEqual(result.batches.map((b) => b.status), ['failed']);
    assert.match(result.batches[0].error ?? '', /InboxApiRejected.*HTTP 400/);
    assert.equal(receiver.requests.length, 1, '4xx is not retried');
    const date = today(config, name);
    assert.deepEqual(listDisk(`${base}/in_progress/${date}`), []);
    assert.deepEqual(listDisk(`${base}/failed/${date}`), ['bad one.pdf', 'bad one.pdf.error.json', 'bad two.pdf', 'bad two.pdf.error.json']);
    const report = JSON.parse(fs.readFileSync(localSftpPath(`${base}/failed/${date}/bad one.pdf.error.json`), 'utf8'));
    assert.equal(report.error.type, 'InboxApiRejected');
    assert.equal(report.error.status, 400);
    assert.match(report.error.message, /HTTP 400/);
    assert.equal(report.submitted_as, `${base}/in_progress/${date}/bad one.pdf`);
    assert.equal(slack.messages.length, 1, 'exactly one Slack message');
    assert.match(slack.messages[0].text, new RegExp(name));

    // the failed batch is finished: a later poll does not submit it again
    const again = await withWorker(config, (client) => poll(client, config, name));
    assert.equal(again.batches.length, 0);
    assert.equal(receiver.requests.length, 1);
  } finally {
    await receiver.close();
    await slack.close();
  }
});

test('a file still growing is not claimed until its size stops changing, then claimed once', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url, { stable_for: '1200ms' });
    dropFiles(`${base}/input`, { 'done.pdf': pdf(1) });
    const growing = localSftpPath(`${base}/input/growing.pdf`);
    dropFiles(`${base}/input`, { 'growing.pdf': '%PDF-1.4\n' }, new Date());
    let writing = true;
    let size = fs.statSync(growing).size;
    const writer = (async () => {
      while (writing) {
        fs.appendFileSync(growing, Buffer.alloc(512, 0x41));
        size += 512;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const results = await withWorker(config, async (client) => {
      const first = await poll(client, config, name);
      const second = await poll(client, config, name);
      writing = false;
      await writer;
      const third = await poll(client, config, name);
      return [first, second, third];
    });
    assert.deepEqual(results[0].claimed.map((c) => c.name), ['done.pdf']);
    assert.deepEqual(results[0].waiting, ['growing.pdf']);
    assert.deepEqual(results[1].claimed, []);
    assert.deepEqual(results[1].waiting, ['growing.pdf']);
    assert.deepEqual(results[2].claimed.map((c) => c.name), ['growing.pdf']);
    const got = receiver.requests.flatMap((r) => r.files.map((f) => f.filename)).sort();
    assert.deepEqual(got, ['done.pdf', 'growing.pdf']);
    const date = today(config, name);
    assert.equal(fs.statSync(localSftpPath(`${base}/in_progress/${date}/growing.pdf`)).size, size, 'claimed whole');
  } finally {
    await receiver.close();
  }
});

test('at the start of a poll, files stranded in in_progress/ are batched again: unlisted ones in a new batch, a planned batch that never finished under its recorded ID', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    const date = today(config, name);
    // as a crash would leave them: two files claimed and never batched, two in a batch that was planned but never finished
    dropFiles(`${base}/in_progress/${date}`, { 'lost-1.pdf': pdf(1), 'lost-2.pdf': pdf(2), 'planned-1.pdf': pdf(3), 'planned-2.pdf': pdf(4) });
    const planned = ['planned-1.pdf', 'planned-2.pdf'].map((f) => ({ filename: f, backup_path: `${base}/in_progress/${date}/${f}` }));
    dropFiles(`${base}/.bq-sftp`, { 'batches.jsonl': JSON.stringify({ id: 'recorded0batch0id000', files: planned, at: new Date().toISOString() }) + '\n' });
    dropFiles(`${base}/input`, { 'new.pdf': pdf(5) });
    const result = await withWorker(config, (client) => poll(client, config, name));
    assert.deepEqual(result.stranded.sort(), [`${base}/in_progress/${date}/lost-1.pdf`, `${base}/in_progress/${date}/lost-2.pdf`]);
    assert.ok(result.batches.some((b) => b.id === 'recorded0batch0id000' && b.recovered && b.status === 'submitted'));
    assert.ok(receiver.requests.some((r) => r.idempotency_key === 'recorded0batch0id000'), 'the planned batch keeps its Idempotency-Key');
    const got = receiver.requests.flatMap((r) => r.files.map((f) => f.filename)).sort();
    assert.deepEqual(got, ['lost-1.pdf', 'lost-2.pdf', 'new.pdf', 'planned-1.pdf', 'planned-2.pdf']);
    const again = await withWorker(config, (client) => poll(client, config, name));
    assert.equal(again.batches.length, 0, 'nothing is submitted twice');
  } finally {
    await receiver.close();
  }
});

test('a file re-uploaded under a name already submitted (after the first was removed from in_progress/) is submitted again, as a new batch', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    const date = today(config, name);
    dropFiles(`${base}/input`, { 'same.pdf': pdf(1) }, new Date(Date.now() - 20_000));
    await withWorker(config, async (client) => {
      await poll(client, config, name);
      fs.rmSync(localSftpPath(`${base}/in_progress/${date}/same.pdf`));
      dropFiles(`${base}/input`, { 'same.pdf': pdf(2) }, new Date(Date.now() - 10_000));
      await poll(client, config, name);
    });
    assert.equal(receiver.accepted().length, 2);
    assert.deepEqual(receiver.accepted().map((r) => r.files[0].backup_path), [`${base}/in_progress/${date}/same.pdf`, `${base}/in_progress/${date}/same.pdf`]);
  } finally {
    await receiver.close();
  }
});
