import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { startExport } from '../../src/starter';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { stack } from '../helpers/stack';

const info = stack();
const query = `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\``;

function failureType(err: unknown): string | undefined {
  if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ActivityFailure) || !(err.cause.cause instanceof ApplicationFailure)) return undefined;
  return err.cause.cause.type ?? undefined;
}

test('10 concurrent starts of one export and date make exactly one run', async () => {
  const name = exportName('dup');
  const config = testConfig({ exports: { [name]: { query } } });
  await withWorker(config, async (client) => {
    const handles = await Promise.all(Array.from({ length: 10 }, () => startExport(client, config, { exportName: name, date: DEMO_DATE })));
    const runIds = new Set(await Promise.all(handles.map(async (h) => (await h.describe()).runId)));
    assert.equal(runIds.size, 1);
    await handles[0].result();
    // visibility is eventually consistent: wait until the run is listed, then count
    let runs = 0;
    for (let i = 0; i < 50; i++) {
      runs = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = 'export-${name}-${DEMO_DATE}'` })) runs++;
      if (runs >= 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(runs, 1, `visibility lists ${runs} runs`);
  });
});

test('a wrong pinned host key: non-retryable SftpHostKeyMismatch, nothing written, one Slack message', async () => {
  const name = exportName('hostkey');
  const slack = await startSlackReceiver();
  const config = testConfig({
    exports: { [name]: { query } },
    sftp: { host_key: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    slack: { webhook_url: slack.url },
  });
  try {
    const err = await withWorker(config, async (client) => (await startExport(client, config, { exportName: name, date: DEMO_DATE })).result().catch((e: unknown) => e));
    assert.equal(failureType(err), 'SftpHostKeyMismatch');
    assert.equal(((err as WorkflowFailedError).cause!.cause as ApplicationFailure).nonRetryable, true);
    assert.deepEqual(listLocal(config.sftp!.directory), [], 'not one byte written');
    assert.equal(slack.messages.length, 1);
  } finally {
    await slack.close();
  }
});

test('Slack down when a run fails: the run still fails with the original error', async () => {
  const name = exportName('slackdown');
  const slack = await startSlackReceiver({ status: 500 });
  const config = testConfig({ exports: { [name]: { query } }, sftp: { password: 'wrong-password-for-slack-test' }, slack: { webhook_url: slack.url } });
  try {
    const err = await withWorker(config, async (client) => (await startExport(client, config, { exportName: name, date: DEMO_DATE })).result().catch((e: unknown) => e));
    assert.equal(failureType(err), 'SftpAuthFailed', 'the original error, not the Slack one');
    assert.ok(slack.messages.length >= 1, 'the notice was attempted');
  } finally {
    await slack.close();
  }
});
