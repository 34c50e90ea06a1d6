/**
 * R5: after runs with a password user, a key + passphrase user, a wrong password and Slack
 * configured, neither the workflow histories (`temporal workflow show --output json` and the
 * client's history, base64 payloads decoded) nor the worker logs contain any secret.
 * Workers run as separate processes at DEBUG level with the secrets in their environment, as deployed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stackLayout } from '../../src/stack/layout';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { clientFor } from '../../src/cli/config-option';
import type { Config } from '../../src/config';
import { startExport } from '../../src/starter';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { testConfig } from '../helpers/config';
import { exportName, localSftpPath } from '../helpers/export';
import { startSlackReceiver, type SlackReceiver } from '../helpers/slack-receiver';
import { stack } from '../helpers/stack';
import { reportFigures } from './helpers/figures';
import { WorkerProcess } from './helpers/worker-process';

const exec = promisify(execFile);
const TEMPORAL = path.join(stackLayout().toolsBin, 'temporal');
const info = stack();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-r5-'));
const customersQuery = `SELECT id, name FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\``;
const WRONG_PASSWORD = 'Wr0ng-pa55word-that-must-not-leak';

let slack: SlackReceiver;
let client: Client;
const runs: { workflowId: string; outcome: 'succeeded' | 'failed'; exportName: string }[] = [];
const logs: string[] = [];
const folders: { dir: string; user: 'passwordUser' | 'keyUser' }[] = [];

/** Every secret the workers held: the two users' credentials, the key file's body, the webhook. */
function secrets(): Record<string, string> {
  const keyBody = fs
    .readFileSync(info.sftp.keyUser.privateKeyPath, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'));
  return {
    sftp_password: info.sftp.passwordUser.password,
    key_passphrase: info.sftp.keyUser.passphrase,
    wrong_password: WRONG_PASSWORD,
    slack_webhook: slack.url,
    slack_webhook_token: new URL(slack.url).pathname.split('/').at(-1)!,
    ...Object.fromEntries(keyBody.map((line, i) => [`private_key_line_${i + 1}`, line])),
  };
}

/** Runs one export through a worker process whose config file holds no secret; the secrets come from env. */
async function runWithWorker(kind: string, config: Config, env: Record<string, string>, expect: 'succeeded' | 'failed'): Promise<void> {
  const name = Object.keys(config.exports)[0];
  const { password: _p, passphrase: _pp, ...sftp } = config.sftp!;
  const { webhook_url: _w, ...slackBlock } = config.slack;
  const configPath = path.join(tmp, `${kind}.json`);
  fs.writeFileSync(configPath, JSON.stringify({ ...config, sftp, slack: slackBlock }));
  const logPath = path.join(tmp, `${kind}.log`);
  const worker = await WorkerProcess.start({ configPath, logPath, env: { ...env, SLACK_WEBHOOK_URL: slack.url, BQSFTP_LOG_LEVEL: 'DEBUG' } });
  try {
    const handle = await startExport(client, config, { exportName: name, date: DEMO_DATE });
    const outcome = await handle.result().then(
      () => 'succeeded' as const,
      () => 'failed' as const,
    );
    runs.push({ workflowId: handle.workflowId, outcome, exportName: name });
    assert.equal(outcome, expect, `${kind} run ${outcome}`);
  } finally {
    await worker.stop();
    logs.push(logPath);
    folders.push({ dir: config.sftp!.directory, user: config.sftp!.username === info.sftp!.keyUser.username ? 'keyUser' : 'passwordUser' });
  }
}

/** The text of a JSON document plus the decoded contents of every base64 string in it. */
function withDecodedBase64(json: string): string {
  const decoded: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === 'string' && v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) decoded.push(Buffer.from(v, 'base64').toString('utf8'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(JSON.parse(json));
  return `${json}\n${decoded.join('\n')}`;
}

before(async () => {
  slack = await startSlackReceiver();
  client = await clientFor(testConfig());
});

after(async () => {
  await client?.connection.close();
  await slack?.close();
  for (const f of folders) fs.rmSync(localSftpPath(f.dir, f.user), { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('R5 runs: password user, key + passphrase user, and a wrong password that fails and notifies Slack', async () => {
  const pwName = exportName('r5pw');
  await runWithWorker('password', testConfig({ exports: { [pwName]: { query: customersQuery } } }), { SFTP_PASSWORD: info.sftp.passwordUser.password }, 'succeeded');

  const keyName = exportName('r5key');
  const keyConfig = testConfig({
    exports: { [keyName]: { query: customersQuery } },
    sftp: { username: info.sftp.keyUser.username, password: undefined, private_key_path: info.sftp.keyUser.privateKeyPath, passphrase: info.sftp.keyUser.passphrase },
  });
  await runWithWorker('key', keyConfig, { SFTP_PASSPHRASE: info.sftp.keyUser.passphrase }, 'succeeded');

  const badName = exportName('r5bad');
  await runWithWorker('wrong-password', testConfig({ exports: { [badName]: { query: customersQuery } } }), { SFTP_PASSWORD: WRONG_PASSWORD }, 'failed');
  assert.equal(slack.messages.length, 1, 'the failed run sent its notice');
});

test('R5: 0 occurrences of any secret in the histories and the worker logs', async () => {
  assert.equal(runs.length, 3, 'the runs of the previous test happened');
  const all = secrets();
  const found: string[] = [];
  let historyBytes = 0;
  let events = 0;
  for (const run of runs) {
    const { stdout } = await exec(TEMPORAL, ['workflow', 'show', '--workflow-id', run.workflowId, '--address', info.temporal.address, '--namespace', info.temporal.namespace, '--output', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const history = await client.workflow.getHandle(run.workflowId).fetchHistory();
    events += history.events?.length ?? 0;
    const texts = { 'temporal workflow show': withDecodedBase64(stdout), 'client history': withDecodedBase64(JSON.stringify(history)) };
    for (const [source, text] of Object.entries(texts)) {
      historyBytes += text.length;
      // positive control: the payloads were decoded and read (the export name is in the workflow input)
      assert.ok(text.includes(`"exportName":"${run.exportName}"`), `the decoded ${source} of ${run.workflowId} shows its input`);
      for (const [secret, value] of Object.entries(all)) if (text.includes(value)) found.push(`${secret} in ${source} of ${run.workflowId}`);
    }
  }
  let logBytes = 0;
  for (const logPath of logs) {
    const text = fs.readFileSync(logPath, 'utf8');
    logBytes += text.length;
    for (const [secret, value] of Object.entries(all)) if (text.includes(value)) found.push(`${secret} in worker log ${path.basename(logPath)}`);
  }
  reportFigures('R5 secrets', {
    runs: runs.map((r) => r.outcome).join('/'),
    secrets_checked: Object.keys(all).length,
    history_events: events,
    history_bytes_scanned: historyBytes,
    worker_log_bytes_scanned: logBytes,
    occurrences: found.length,
  });
  assert.ok(logBytes > 0, 'the workers logged something (DEBUG level)');
  assert.deepEqual(found, []);
});
