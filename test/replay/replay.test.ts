/**
 * Replay-safe deploys: the histories of every workflow type the test suite ran with this build
 * (found in the stack's namespace by build id), the export family's runs made here, and the
 * committed fixtures recorded by an earlier build (test/replay/histories/, as production
 * histories would be) all replay against the current workflow code. A deliberately incompatible
 * ExportWorkflow (incompatible-workflow.ts) is shown to fail the same check.
 * BQSFTP_RECORD_REPLAY_FIXTURES=1 rewrites the fixtures from this run.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { runExport, startExport, type ApiTransferInput } from '../../src/client';
import { workerBuildId } from '../../src/worker';
import { workflowBundlePath, workflowSourceDigest } from '../../src/temporal/workflow-bundle';
import { packageVersion } from '../../src/version';
import { fetchHistories, historyBuildId, replayHistories, type RecordedHistory } from '../../src/replay';
import * as workflows from '../../src/workflows';
import { testConfig } from '../helpers/config';
import { exportName, withWorker } from '../helpers/export';
import { stack } from '../helpers/stack';

const info = stack();
const History = temporal.api.history.v1.History;
const fixturesDir = path.join(__dirname, 'histories');
const good = exportName('replay');
const bad = exportName('replay-bad');
const config = testConfig({
  exports: {
    [good]: { query: `SELECT id, email FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`, file_prefix: 'Customer' },
    [bad]: { query: `SELECT * FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.no_such_table_replay\`` },
  },
});
const WORKFLOW_TYPES = Object.entries(workflows)
  .filter(([name, v]) => typeof v === 'function' && /Workflow$/.test(name))
  .map(([name]) => name)
  .sort();
/** the export family's types, run here so they are always covered */
const GENERATED = ['DailyExportsWorkflow', 'ExportWorkflow', 'PingWorkflow', 'TransferWorkflow', 'VerifyWorkflow'];

const generated: RecordedHistory[] = [];
const suite: RecordedHistory[] = [];
const fixtures: RecordedHistory[] = [];

/** runs of the encrypted-payload tests: their keys are not in this test's config (bq-sftp replay uses the deployment's) */
function encrypted(h: RecordedHistory): boolean {
  const input = h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return Buffer.from(input?.metadata?.encoding ?? new Uint8Array()).toString() === 'binary/encrypted';
}

async function historiesOf(client: Client, ids: { workflowId: string; workflowType: string }[]): Promise<RecordedHistory[]> {
  return Promise.all(ids.map(async ({ workflowId, workflowType }) => ({ workflowId, workflowType, history: await client.workflow.getHandle(workflowId).fetchHistory() })));
}

before(async () => {
  // 1. the export family's workflows, run here (a success and a failure of ExportWorkflow)
  await withWorker(config, async (client) => {
    const q = config.temporal.task_queue;
    const ok = await runExport(client, { exportName: good, date: DEMO_DATE, taskQueue: q });
    await (await startExport(client, { exportName: bad, date: DEMO_DATE, taskQueue: q, notifyOnFailure: false })).result().catch(() => undefined);
    const api: ApiTransferInput = { exportName: good, date: DEMO_DATE, gcsPath: ok.bq_export.gcs_path };
    const suffix = `${good}-${Date.now()}`;
    await client.workflow.execute('TransferWorkflow', { taskQueue: q, workflowId: `replay-transfer-${suffix}`, args: [api] });
    await client.workflow.execute('VerifyWorkflow', { taskQueue: q, workflowId: `replay-verify-${suffix}`, args: [api] });
    await client.workflow.execute('PingWorkflow', { taskQueue: q, workflowId: `replay-ping-${suffix}`, args: ['replay'] });
    const daily = `replay-daily-${suffix}`;
    await client.workflow.execute('DailyExportsWorkflow', { taskQueue: q, workflowId: daily, args: [{ date: DEMO_DATE, exports: [good] }] }).catch(() => undefined);
    generated.push(
      ...(await historiesOf(client, [
        { workflowId: ok.workflow_id, workflowType: 'ExportWorkflow' },
        { workflowId: `export-${bad}-${DEMO_DATE}`, workflowType: 'ExportWorkflow' },
        { workflowId: `replay-transfer-${suffix}`, workflowType: 'TransferWorkflow' },
        { workflowId: `replay-verify-${suffix}`, workflowType: 'VerifyWorkflow' },
        { workflowId: `replay-ping-${suffix}`, workflowType: 'PingWorkflow' },
        { workflowId: daily, workflowType: 'DailyExportsWorkflow' },
      ])),
    );
    // 2. every other workflow type the suite ran with this very build (closed runs, newest first)
    const buildId = workerBuildId();
    for (const type of WORKFLOW_TYPES) {
      const candidates = await fetchHistories(client, `WorkflowType = '${type}' AND ExecutionStatus != 'Running' AND StartTime > '${new Date(Date.now() - 12 * 3600_000).toISOString()}'`, 8);
      suite.push(...candidates.filter((h) => historyBuildId(h.history) === buildId && !encrypted(h) && !generated.some((g) => g.workflowId === h.workflowId)).slice(0, 3));
    }
  });
  // 3. fixtures recorded by an earlier build
  if (process.env.BQSFTP_RECORD_REPLAY_FIXTURES === '1') {
    fs.mkdirSync(fixturesDir, { recursive: true });
    for (const h of generated) {
      const file = path.join(fixturesDir, `${h.workflowType}${h.workflowId.includes(bad) ? '-failed' : ''}.json`);
      fs.writeFileSync(file, JSON.stringify({ workflowId: h.workflowId, workflowType: h.workflowType, buildId: historyBuildId(h.history), history_base64: Buffer.from(History.encode(h.history).finish()).toString('base64') }, null, 1));
    }
  }
  for (const f of fs.existsSync(fixturesDir) ? fs.readdirSync(fixturesDir).filter((n) => n.endsWith('.json')) : []) {
    const j = JSON.parse(fs.readFileSync(path.join(fixturesDir, f), 'utf8')) as { workflowId: string; workflowType: string; history_base64: string };
    fixtures.push({ workflowId: j.workflowId, workflowType: j.workflowType, history: History.decode(Buffer.from(j.history_base64, 'base64')) });
  }
});

test('the build id is the package version plus the workflow bundle digest, and histories record it', async () => {
  const digest = workflowSourceDigest();
  assert.equal(workerBuildId(), `${packageVersion()}+${digest}`);
  assert.ok(path.basename(await workflowBundlePath()).includes(digest), 'the bundle is keyed on the same digest');
  for (const h of generated) assert.equal(historyBuildId(h.history), workerBuildId(), `${h.workflowType} ${h.workflowId}`);
});

test("every workflow type's recorded histories replay against the current code", async () => {
  const all = [...generated, ...suite, ...fixtures];
  const outcomes = await replayHistories(config, all);
  assert.equal(outcomes.length, all.length);
  const failed = outcomes.filter((o) => !o.ok);
  assert.deepEqual(failed, [], `histories that no longer replay:\n${failed.map((f) => `${f.workflowType} ${f.workflowId}: ${f.error}`).join('\n')}`);
  const covered = [...new Set(all.map((h) => h.workflowType))].sort();
  for (const t of GENERATED) assert.ok(covered.includes(t), `no ${t} history replayed`);
  assert.ok(fixtures.length >= 5, 'the committed fixtures were replayed');
  const missing = WORKFLOW_TYPES.filter((t) => !covered.includes(t));
  process.stdout.write(`replayed ${all.length} histories (${generated.length} made here, ${suite.length} from the suite's runs with this build, ${fixtures.length} fixtures) of ${covered.join(', ')}${missing.length ? `; no history of ${missing.join(', ')} (not run with this build before this file)` : ''}\n`);
});

test('an incompatible workflow change fails replay (the check really catches it)', async () => {
  const histories = [...generated, ...fixtures].filter((h) => h.workflowType === 'ExportWorkflow');
  assert.ok(histories.length >= 2);
  const outcomes = await replayHistories(config, histories, { workflowsPath: path.join(__dirname, 'incompatible-workflow.ts') });
  assert.equal(outcomes.length, histories.length);
  for (const o of outcomes) {
    assert.equal(o.ok, false, `${o.workflowId} replayed against the changed code`);
    assert.match(o.error!, /DeterminismViolation|[Nn]ondeterminism/);
  }
});
