/**
 * R3: the GCS or BigQuery emulator goes down. For ~30 s mid-run: the run completes after
 * retries and sends no failure notice. For good: the run fails after its retry budget with one
 * Slack message, and the error names the service. The emulators that go down are our own
 * (started with the stack CLI in a temp folder on free ports); "for good" is a port nothing listens on.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TransferSummary } from '../../src/activities';
import { createStorage } from '../../src/gcs/client';
import { startExport } from '../../src/starter';
import { DEMO_DATE } from '../../src/stack/demo-data';
import type { ExportResult } from '../../src/export/workflow';
import { testConfig } from '../helpers/config';
import { exportName, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { stack, uniqueId } from '../helpers/stack';
import { reportFigures, sleep, waitFor } from './helpers/figures';
import { PrivateEmulators } from './helpers/private-emulators';
import { freePort } from '../helpers/ports';
import { activityAttempts, compareWithGcs, FAULT_DATE, folderState, removeLocalFolder, seedObjects } from './helpers/transfer-fixture';

const OUTAGE_MS = 30_000;
const info = stack();
const customersQuery = `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\``;
const figures: Record<string, unknown> = {};

after(() => reportFigures('R3 emulator outages', figures));

function innerFailure(err: unknown): ApplicationFailure | undefined {
  if (err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure) return err.cause.cause;
  return undefined;
}

describe('R3 emulator outages', { concurrency: true }, () => {
  test('GCS down ~30 s in the middle of the transfer: retried, the run completes with identical bytes, no Slack message', async () => {
    const gcs = new PrivateEmulators(['gcs']);
    const slack = await startSlackReceiver();
    try {
      await gcs.start();
      const storage = createStorage({ apiEndpoint: gcs.endpoint('gcs'), projectId: info.gcs.projectId });
      await storage.createBucket(info.gcs.bucket);
      const seeded = await seedObjects(storage, info.gcs.bucket, `faults/${uniqueId('r3')}/20250108`, 20, 8 * 1024 * 1024);
      const name = exportName('r3gcs');
      const config = testConfig({
        exports: { [name]: { query: 'SELECT 1', file_prefix: 'F' } },
        gcs: { api_endpoint: gcs.endpoint('gcs') },
        slack: { webhook_url: slack.url },
      });
      const folder = config.sftp!.directory;
      try {
        await withWorker(config, async (client) => {
          const handle = await client.workflow.start('TransferWorkflow', {
            taskQueue: config.temporal.task_queue,
            workflowId: `faults-r3-${name}`,
            args: [{ exportName: name, date: FAULT_DATE, gcsPath: seeded.gcsPath }],
          });
          await waitFor('the first bytes on SFTP', () => folderState(folder).partials.length > 0 || undefined);
          await gcs.crash('gcs');
          const downAt = Date.now();
          const publishedWhenDown = folderState(folder).finals.size;
          await sleep(OUTAGE_MS);
          await gcs.start();
          const upAt = Date.now();
          const summary = (await handle.result()) as TransferSummary;
          const attempts = (await activityAttempts(handle)).transferFiles ?? 0;
          const outcome = compareWithGcs(folder, seeded);
          figures.gcs_30s = { completed: true, attempts, outage_s: Math.round((upAt - downAt) / 1000), done_s_after_back: Math.round((Date.now() - upAt) / 1000), published_when_down: publishedWhenDown };

          assert.deepEqual(outcome.differing, []);
          assert.deepEqual(outcome.partials, []);
          assert.equal(summary.files_skipped.length + summary.files_transferred, 20);
          assert.ok(attempts >= 2, 'the attempt that lost GCS was retried');
          assert.equal(slack.messages.length, 0, 'a run that recovered sends no failure notice');
        });
      } finally {
        removeLocalFolder(folder);
      }
    } finally {
      await slack.close();
      await gcs.stop();
    }
  });

  test('BigQuery down ~30 s as the run starts its export: retried, the run completes and verifies, no Slack message', async () => {
    const bq = new PrivateEmulators(['bigquery'], { BQSFTP_GCS_PORT: new URL(info.gcs.endpoint).port });
    const slack = await startSlackReceiver();
    try {
      await bq.start();
      const name = exportName('r3bq');
      const config = testConfig({ exports: { [name]: { query: customersQuery } }, bigquery: { api_endpoint: bq.endpoint('bigquery') }, slack: { webhook_url: slack.url } });
      try {
        await withWorker(config, async (client) => {
          const handle = await startExport(client, config, { exportName: name, date: DEMO_DATE });
          await bq.crash('bigquery');
          const downAt = Date.now();
          await sleep(OUTAGE_MS);
          await bq.start();
          const upAt = Date.now();
          const result = (await handle.result()) as ExportResult;
          const attempts = (await activityAttempts(handle)).bqExport ?? 0;
          figures.bigquery_30s = { completed: true, attempts, outage_s: Math.round((upAt - downAt) / 1000), done_s_after_back: Math.round((Date.now() - upAt) / 1000) };

          assert.equal(result.verify.in_sync, true);
          assert.ok(result.transfer.files.length >= 1);
          assert.ok(attempts >= 2, 'the export that found BigQuery down was retried');
          assert.equal(slack.messages.length, 0);
        });
      } finally {
        removeLocalFolder(config.sftp!.directory);
      }
    } finally {
      await slack.close();
      await bq.stop();
    }
  });

  for (const service of ['BigQuery', 'Cloud Storage'] as const) {
    test(`${service} down for good: the run fails after its retry budget with ServiceUnavailable naming ${service}, one Slack message`, async () => {
      const slack = await startSlackReceiver();
      const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
      const name = exportName('r3dead');
      const config = testConfig({
        exports: { [name]: { query: customersQuery } },
        slack: { webhook_url: slack.url },
        ...(service === 'BigQuery' ? { bigquery: { api_endpoint: deadEndpoint } } : { gcs: { api_endpoint: deadEndpoint } }),
      });
      const started = Date.now();
      try {
        const err = await withWorker(config, async (client) => (await startExport(client, config, { exportName: name, date: DEMO_DATE })).result().catch((e: unknown) => e));
        const failure = innerFailure(err);
        const attempts = (failure?.details?.[0] as { attempt?: number } | undefined)?.attempt;
        figures[service === 'BigQuery' ? 'bigquery_down_for_good' : 'gcs_down_for_good'] = {
          failed: Boolean(failure),
          type: failure?.type,
          attempts,
          slack_messages: slack.messages.length,
          failed_after_s: Math.round((Date.now() - started) / 1000),
        };

        assert.ok(failure, `the run failed with an activity's ApplicationFailure, got ${String(err)}`);
        assert.equal(failure.type, 'ServiceUnavailable');
        assert.match(failure.message, new RegExp(`^${service} is unreachable`));
        assert.equal(attempts, 5, 'the export activity used its whole retry budget');
        assert.equal(slack.messages.length, 1, 'exactly one Slack message');
        assert.match(JSON.stringify(slack.messages[0]), new RegExp(service));
      } finally {
        await slack.close();
      }
    });
  }
});
