import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { runExport, startExport } from '../../src/starter';
import { DEMO_DATE, PRODUCTS_PER_DAY } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, gcsBytes, listLocal, localSftpPath, storage, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { sha256, stack } from '../helpers/stack';

const info = stack();
const keyUserSftp = (directory: string) => ({
  username: info.sftp.keyUser.username,
  password: undefined,
  private_key_path: info.sftp.keyUser.privateKeyPath,
  passphrase: info.sftp.keyUser.passphrase,
  directory,
});
const productsQuery = `SELECT id, name, category, price, created_at FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.products\` WHERE DATE(created_at) = '{date}' ORDER BY id`;

function assertSameBytesAsGcs(folder: string, files: string[], objectPrefix: string) {
  return Promise.all(
    files.map(async (f) => {
      const local = fs.readFileSync(localSftpPath(`${folder}/${f}`));
      assert.equal(sha256(local), sha256(await gcsBytes(`${objectPrefix}${f}`)), `${f} on SFTP equals the GCS object`);
    }),
  );
}

test('ExportWorkflow: BigQuery → GCS → SFTP → verify; bytes equal, names follow the pattern; a rerun overwrites cleanly', async () => {
  const name = exportName('products');
  const slack = await startSlackReceiver();
  const config = testConfig({
    exports: { [name]: { query: productsQuery, file_prefix: 'Product', format: 'CSV', compression: 'GZIP' } },
    slack: { webhook_url: slack.url },
  });
  const folder = config.sftp!.directory;
  try {
    const first = await withWorker(config, (client) => runExport(client, config, { exportName: name, date: DEMO_DATE }));
    const objectPrefix = `${name}/20250108/`;
    assert.deepEqual(first.transfer.files, ['Product_20250108-000000000000.csv.gz']);
    assert.equal(first.transfer.files_transferred, 1);
    assert.equal(first.transfer.destination, `${folder}/`);
    assert.equal(first.transfer.gcs_path, `gs://${info.gcs.bucket}/${objectPrefix}`);
    assert.equal(first.bq_export.gcs_path, first.transfer.gcs_path);
    assert.equal(first.transfer.status, 'success');
    const [objectMeta] = await storage().bucket(info.gcs.bucket).file(`${objectPrefix}${first.transfer.files[0]}`).getMetadata();
    assert.ok(Number(objectMeta.size) > 0);
    assert.equal(first.transfer.total_bytes, Number(objectMeta.size), 'total_bytes is the object\'s size');
    assert.equal(first.transfer.total_mb, Math.round((Number(objectMeta.size) / (1024 * 1024)) * 100) / 100);
    assert.ok(Number.isFinite(first.transfer.total_time_seconds) && first.transfer.total_time_seconds >= 0);
    assert.equal(first.verify.in_sync, true);
    assert.deepEqual(first.verify.missing_on_sftp, []);
    assert.deepEqual(listLocal(folder), ['Product_20250108-000000000000.csv.gz'], 'no .partial left behind');
    await assertSameBytesAsGcs(folder, first.transfer.files, objectPrefix);
    const csv = zlib.gunzipSync(fs.readFileSync(localSftpPath(`${folder}/${first.transfer.files[0]}`))).toString('utf8').trim().split('\n');
    assert.equal(csv[0], 'id,name,category,price,created_at');
    assert.equal(csv.length, PRODUCTS_PER_DAY + 1);

    // a second run of the same date: a new run of the same workflow ID, same files, nothing extra
    fs.writeFileSync(localSftpPath(`${folder}/Product_20250108-000000000000.csv.gz`), 'stale bytes from an earlier run');
    const second = await withWorker(config, (client) => runExport(client, config, { exportName: name, date: DEMO_DATE }));
    assert.equal(second.verify.in_sync, true);
    assert.deepEqual(listLocal(folder), ['Product_20250108-000000000000.csv.gz']);
    await assertSameBytesAsGcs(folder, second.transfer.files, objectPrefix);
    assert.equal(slack.messages.length, 0, 'no Slack message for successful runs');
  } finally {
    await slack.close();
  }
});

test('ExportWorkflow: a query with 0 rows exports, transfers and verifies', async () => {
  const name = exportName('empty');
  const config = testConfig({ exports: { [name]: { query: productsQuery, format: 'JSON' } } });
  const result = await withWorker(config, (client) => runExport(client, config, { exportName: name, date: '1999-01-01' }));
  assert.equal(result.verify.in_sync, true);
  assert.deepEqual(listLocal(config.sftp!.directory), result.transfer.files);
  for (const f of result.transfer.files) assert.match(f, new RegExp(`^${name}_19990101-\\d{12}\\.json$`));
  await assertSameBytesAsGcs(config.sftp!.directory, result.transfer.files, `${name}/19990101/`);
});

test('ExportWorkflow: the key + passphrase user; starting the same export and date twice yields one run', async () => {
  const name = exportName('keyuser');
  const config = testConfig({
    exports: { [name]: { query: productsQuery, file_prefix: 'P' } },
    sftp: keyUserSftp(`/upload/${name}`),
  });
  const result = await withWorker(config, async (client) => {
    const [a, b] = await Promise.all([
      startExport(client, config, { exportName: name, date: DEMO_DATE }),
      startExport(client, config, { exportName: name, date: DEMO_DATE }),
    ]);
    assert.equal(a.workflowId, `export-${name}-${DEMO_DATE}`);
    assert.equal((await a.describe()).runId, (await b.describe()).runId, 'one run');
    return a.result();
  });
  assert.deepEqual(listLocal(`/upload/${name}`, 'keyUser'), ['P_20250108-000000000000.csv']);
  assert.equal(result.verify.in_sync, true);
});

test('ExportWorkflow: wrong SFTP password fails fast with an auth error type and exactly one Slack message; no secret in history', async () => {
  const name = exportName('badpw');
  const slack = await startSlackReceiver();
  const wrongPassword = 'definitely-not-the-password-42';
  const config = testConfig({
    exports: { [name]: { query: productsQuery } },
    sftp: { password: wrongPassword },
    slack: { webhook_url: slack.url },
  });
  try {
    const history = await withWorker(config, async (client) => {
      const handle = await startExport(client, config, { exportName: name, date: DEMO_DATE });
      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ActivityFailure);
      assert.ok(err.cause.cause instanceof ApplicationFailure);
      assert.equal(err.cause.cause.type, 'SftpAuthFailed');
      assert.equal(err.cause.cause.nonRetryable, true);
      return handle.fetchHistory();
    });
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    const transferAttempts = started.filter((e) => e.activityTaskStartedEventAttributes?.attempt && e.activityTaskStartedEventAttributes.attempt > 1);
    assert.equal(transferAttempts.length, 0, 'no retries wasted on a refused login');
    assert.equal(slack.messages.length, 1, 'exactly one Slack message');
    const msg = JSON.stringify(slack.messages[0]);
    assert.match(msg, new RegExp(name));
    assert.match(msg, /SftpAuthFailed/);
    assert.match(msg, /transfer/);
    assert.match(msg, new RegExp(`${info.temporal.uiUrl}/namespaces/default/workflows/export-${name}-${DEMO_DATE}/`));
    assert.ok(!msg.includes(wrongPassword));
    const raw = JSON.stringify(history);
    for (const secret of [wrongPassword, slack.url, 'secret-webhook-token']) assert.ok(!raw.includes(secret), 'history holds no secret');
  } finally {
    await slack.close();
  }
});

test('workflow history of a successful run holds no password, passphrase, key or webhook URL', async () => {
  const name = exportName('secrets');
  const slack = await startSlackReceiver();
  const config = testConfig({
    exports: { [name]: { query: productsQuery } },
    sftp: keyUserSftp(`/upload/${name}`),
    slack: { webhook_url: slack.url },
  });
  try {
    const raw = await withWorker(config, async (client) => {
      const handle = await startExport(client, config, { exportName: name, date: DEMO_DATE });
      await handle.result();
      return JSON.stringify(await handle.fetchHistory());
    });
    const key = fs.readFileSync(info.sftp.keyUser.privateKeyPath, 'utf8');
    for (const secret of [info.sftp.keyUser.passphrase, info.sftp.passwordUser.password, slack.url, key.split('\n')[1]]) {
      assert.ok(!raw.includes(secret), 'history holds no secret');
    }
  } finally {
    await slack.close();
  }
});
