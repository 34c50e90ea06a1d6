/**
 * The batch child's shape: the signed call runs as a local activity inside the batch's workflow
 * task (no activity task, no second workflow task), the poll starts each batch with its search
 * attributes set; batches started without `local_submit` (by the code before) keep their remote
 * activity, and histories recorded by that code replay against the current one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { batchIdOf } from '../../src/inbox/ledger';
import { batchWorkflowId } from '../../src/inbox/naming';
import type { InboxBatchInput } from '../../src/inbox/workflow';
import { replayHistories, type RecordedHistory } from '../../src/replay';
import { withWorker } from '../helpers/export';
import { dropFiles, inboxTestConfig, pdf, poll, SECRET } from './helpers';

const History = temporal.api.history.v1.History;
type Events = NonNullable<temporal.api.history.v1.IHistory['events']>;
const EventType = temporal.api.enums.v1.EventType;

const count = (events: Events, type: temporal.api.enums.v1.EventType) => events.filter((e) => e.eventType === type).length;
const keyword = (p: temporal.api.common.v1.IPayload | undefined) => (p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined);

function fixtures(): RecordedHistory[] {
  const file = path.join(__dirname, 'histories', 'before-local-submit.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { histories: { workflowId: string; workflowType: string; history_base64: string }[] };
  return j.histories.map((h) => ({ workflowId: h.workflowId, workflowType: h.workflowType, history: History.decode(Buffer.from(h.history_base64, 'base64')) }));
}

test('each batch submits with a local activity (no activity task), is started with InboxName/InboxStatus set, ends with InboxStatus succeeded; every file once', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url, { max_parallel_batches: 3 });
    const files: Record<string, Buffer> = {};
    for (let i = 1; i <= 13; i++) files[`doc-${String(i).padStart(2, '0')}.pdf`] = pdf(i, 512);
    dropFiles(`${base}/input`, files);
    const recorded: RecordedHistory[] = [];
    const result = await withWorker(config, async (client) => {
      const r = await poll(client, config, name);
      recorded.push({ workflowId: r.workflow_id, workflowType: 'InboxPollWorkflow', history: await client.workflow.getHandle(r.workflow_id).fetchHistory() });
      for (const b of r.batches) {
        const h = client.workflow.getHandle(b.workflow_id);
        const events = (await h.fetchHistory()).events ?? [];
        recorded.push({ workflowId: b.workflow_id, workflowType: 'InboxBatchWorkflow', history: { events } });
        assert.equal(count(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 0, `${b.workflow_id}: no activity task`);
        const markers = events.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED).map((e) => e.markerRecordedEventAttributes?.markerName);
        assert.deepEqual(markers, ['core_local_activity'], `${b.workflow_id}: the call is one local activity`);
        const started = events[0].workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ?? {};
        assert.equal(keyword(started.InboxName), name, 'InboxName set at the start');
        assert.equal(keyword(started.InboxStatus), 'running', 'InboxStatus set at the start');
        const upserts = events.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES).map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        assert.deepEqual(upserts.map((f) => Object.keys(f)), [['InboxStatus']], 'only the final status is upserted');
        assert.equal(keyword((await h.describe()).raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.InboxStatus ?? undefined), 'succeeded');
      }
      return r;
    });
    assert.deepEqual(result.batches.map((b) => b.files.length), [5, 5, 3]);
    assert.ok(result.batches.every((b) => b.status === 'submitted'));
    const got = receiver.requests.flatMap((q) => q.files.map((f) => f.filename)).sort();
    assert.deepEqual(got, Object.keys(files).sort(), 'every file exactly once');
    assert.ok(receiver.requests.every((q) => q.status === 200 && !q.signature_problem));
    assert.equal(new Set(receiver.requests.map((q) => q.idempotency_key)).size, 3);
    const replayed = await replayHistories(config, recorded);
    assert.deepEqual(replayed.filter((o) => !o.ok), [], 'the poll and its batches replay');
  } finally {
    await receiver.close();
  }
});

test('a batch started without local_submit (as the code before did) submits with a remote activity; histories recorded by that code replay against this one', async () => {
  const old = fixtures();
  assert.deepEqual(old.map((h) => h.workflowType).sort(), ['InboxBatchWorkflow', 'InboxBatchWorkflow', 'InboxPollWorkflow']);
  for (const h of old.filter((x) => x.workflowType === 'InboxBatchWorkflow')) {
    assert.equal(count(h.history.events ?? [], EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 1, 'recorded with the remote activity');
  }
  const receiver = await startInboxReceiver({ secret: SECRET, script: [503] });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url);
    const files = [{ filename: 'a.pdf', backup_path: `${base}/in_progress/01012026/a.pdf`, size: 10, mtime: 1 }];
    const batch = { id: batchIdOf(name, files), files, recovered: false };
    const input: InboxBatchInput = {
      inbox: name,
      batch,
      settings: { batch_size: 5, max_parallel_batches: 4, notify: false, api: { max_attempts: 5, retry_initial_ms: 100, retry_max_ms: 1000, timeout_ms: 30_000 } },
    };
    const workflowId = batchWorkflowId(name, batch.id);
    const events = await withWorker(config, async (client) => {
      const r = (await client.workflow.execute('InboxBatchWorkflow', { workflowId, taskQueue: config.temporal.task_queue, args: [input] })) as { status: string };
      assert.equal(r.status, 'submitted');
      return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    });
    assert.equal(count(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 1, 'one remote activity (retried inside it)');
    assert.equal(count(events, EventType.EVENT_TYPE_MARKER_RECORDED), 0);
    assert.deepEqual(receiver.requests.map((q) => q.status), [503, 200]);
    assert.equal(new Set(receiver.requests.map((q) => q.idempotency_key)).size, 1, 'same key across retries');
    const outcomes = await replayHistories(config, [...old, { workflowId, workflowType: 'InboxBatchWorkflow', history: { events } }]);
    assert.equal(outcomes.length, 4);
    assert.deepEqual(outcomes.filter((o) => !o.ok), [], 'histories of the code before replay against the current code');
  } finally {
    await receiver.close();
  }
});
