import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig, type Config } from '../../src/config';
import { DailyExportsWorkflow, type DailyExportsResult } from '../../src/export/daily-workflow';
import { TransferWorkflow } from '../../src/export/api-workflows';
import { startExport } from '../../src/starter';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { stackLayout } from '../../src/stack/layout';
import { testConfig } from '../helpers/config';
import { exportName, gcsBytes, localSftpPath, storage, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { sha256, stack, uniqueId } from '../helpers/stack';
import { seedObjects } from '../faults/helpers/transfer-fixture';

const info = stack();
const query = `SELECT id, name, email FROM \`${info.bigquery.projectId}.${info.bigquery.dataset}.customers\` ORDER BY id`;

/** The stack's two SFTP users as two named connections, each with its own fresh folder. */
function partners(overrides: { pw?: Record<string, unknown>; key?: Record<string, unknown> } = {}) {
  const pwDir = `/upload/${uniqueId('pw')}`;
  const keyDir = `/upload/${uniqueId('key')}`;
  const common = { host: info.sftp.host, port: info.sftp.port, host_key: info.sftp.hostKeyFingerprint };
  const connections = {
    sftp: {
      partner_pw: { ...common, username: info.sftp.passwordUser.username, password: info.sftp.passwordUser.password, directory: pwDir, ...overrides.pw },
      partner_key: {
        ...common,
        username: info.sftp.keyUser.username,
        private_key_path: info.sftp.keyUser.privateKeyPath,
        passphrase: info.sftp.keyUser.passphrase,
        directory: keyDir,
        ...overrides.key,
      },
    },
  };
  return { connections, pwDir, keyDir };
}

test('two connections, two exports, one fan-out: each file lands in its own user’s folder with identical bytes, both verified', async () => {
  const [a, b] = [exportName('conn_pw'), exportName('conn_key')];
  const { connections, pwDir, keyDir } = partners();
  const config = testConfig({
    connections,
    exports: { [a]: { query, file_prefix: 'A', sftp: 'partner_pw' }, [b]: { query, file_prefix: 'B', sftp: 'partner_key' } },
  });
  const result = await withWorker(config, (client) =>
    client.workflow.execute(DailyExportsWorkflow, {
      taskQueue: config.temporal.task_queue,
      workflowId: uniqueId('daily-conn'),
      args: [{ date: DEMO_DATE, exports: [a, b] }],
    }),
  ) as DailyExportsResult;
  assert.deepEqual(result.exports.map((e) => [e.export_name, e.status]).sort(), [[a, 'succeeded'], [b, 'succeeded']].sort());
  const file = (prefix: string) => `${prefix}_20250108-000000000000.csv`;
  const onPw = localSftpPath(`${pwDir}/${file('A')}`, 'passwordUser');
  const onKey = localSftpPath(`${keyDir}/${file('B')}`, 'keyUser');
  assert.equal(sha256(fs.readFileSync(onPw)), sha256(await gcsBytes(`${a}/20250108/${file('A')}`)));
  assert.equal(sha256(fs.readFileSync(onKey)), sha256(await gcsBytes(`${b}/20250108/${file('B')}`)));
  assert.equal(fs.statSync(onKey).uid, Number(execFileSync('id', ['-u', info.sftp.keyUser.username], { encoding: 'utf8' })), 'written by the key user');
  assert.ok(!fs.existsSync(localSftpPath(`${pwDir}/${file('B')}`, 'passwordUser')), 'nothing crossed over');
  assert.ok(!fs.existsSync(localSftpPath(`${keyDir}/${file('A')}`, 'keyUser')), 'nothing crossed over');
});

test('a connection with a wrong password fails only its export (SftpAuthFailed); one Slack summary names that connection', async () => {
  const [bad, good] = [exportName('conn_bad'), exportName('conn_good')];
  const { connections, keyDir } = partners({ pw: { password: 'wrong-password-for-connection-test' } });
  const slack = await startSlackReceiver();
  const config = testConfig({
    connections,
    slack: { webhook_url: slack.url },
    exports: { [bad]: { query, sftp: 'partner_pw' }, [good]: { query, file_prefix: 'G', sftp: 'partner_key' } },
  });
  try {
    const result = await withWorker(config, (client) =>
      client.workflow.execute(DailyExportsWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId: uniqueId('daily-conn-bad'),
        args: [{ date: DEMO_DATE, exports: [bad, good] }],
      }),
    ) as DailyExportsResult;
    const byName = new Map(result.exports.map((e) => [e.export_name, e]));
    assert.equal(byName.get(good)!.status, 'succeeded');
    assert.equal(byName.get(bad)!.status, 'failed');
    assert.equal(byName.get(bad)!.error!.type, 'SftpAuthFailed');
    assert.ok(fs.existsSync(localSftpPath(`${keyDir}/G_20250108-000000000000.csv`, 'keyUser')));
    assert.equal(slack.messages.length, 1, 'one summary');
    const text = JSON.stringify(slack.messages[0]);
    assert.match(text, new RegExp(`SFTP connection:\\*? partner_pw \\(${bad}\\)`));
    assert.ok(!text.includes('partner_key'), 'the healthy connection is not blamed');
    assert.ok(!text.includes('wrong-password-for-connection-test'), 'never the password');
  } finally {
    await slack.close();
  }
});

/** Socket inode → [local port, remote port] of every TCP connection on this machine. */
function tcpSockets(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.set(f[9], [parseInt(f[1].split(':').pop()!, 16), parseInt(f[2].split(':').pop()!, 16)]);
    }
  }
  return out;
}

function socketInodes(pid: number | 'self'): string[] {
  const out: string[] = [];
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }) || '');
      if (m) out.push(m[1]);
    }
  } catch {
    // the process ended while we looked
  }
  return out;
}

/**
 * SSH sessions of `username` open right now on our stack's sshd from this test process: the
 * session processes the server runs as that user, under our listener, whose peer is one of our sockets.
 */
function sessionsOf(username: string): number {
  const listener = Number(fs.readFileSync(path.join(stackLayout().pidsDir, 'sftp.pid'), 'utf8').trim());
  const uid = Number(execFileSync('id', ['-u', username], { encoding: 'utf8' }).trim());
  const tcp = tcpSockets();
  const ourPorts = new Set(socketInodes('self').flatMap((i) => tcp.get(i)?.[0] ?? []));
  const parent = new Map<number, number>();
  const owner = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      parent.set(Number(entry), Number(/^PPid:\s+(\d+)/m.exec(status)![1]));
      owner.set(Number(entry), Number(/^Uid:\s+(\d+)/m.exec(status)![1]));
    } catch {
      // the process ended while we looked
    }
  }
  let n = 0;
  for (const [pid, u] of owner) {
    if (u !== uid) continue;
    let underListener = false;
    for (let p = parent.get(pid), hops = 0; p && hops < 10; p = parent.get(p), hops++) if (p === listener) underListener = true;
    if (underListener && socketInodes(pid).some((i) => ourPorts.has(tcp.get(i)?.[1] ?? -1))) n++;
  }
  return n;
}

test('max_connections per connection: 1 for one partner, 4 for the other, counted on the server', async () => {
  const { connections, pwDir, keyDir } = partners({ pw: { max_connections: 1 }, key: { max_connections: 4 } });
  const [one, four] = [exportName('conn_one'), exportName('conn_four')];
  const config = testConfig({
    connections,
    transfer: { concurrency: 4 },
    exports: { [one]: { query: 'SELECT 1', sftp: 'partner_pw' }, [four]: { query: 'SELECT 1', sftp: 'partner_key' } },
  });
  const bucket = info.gcs.bucket;
  const [seededOne, seededFour] = await Promise.all([
    seedObjects(storage(), bucket, `${one}/20250108`, 12, 3 * 1024 * 1024),
    seedObjects(storage(), bucket, `${four}/20250108`, 12, 3 * 1024 * 1024),
  ]);
  const peak = { pw: 0, key: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak.pw = Math.max(peak.pw, sessionsOf(info.sftp.passwordUser.username));
      peak.key = Math.max(peak.key, sessionsOf(info.sftp.keyUser.username));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await withWorker(config, (client) =>
      Promise.all([
        client.workflow.execute(TransferWorkflow, { taskQueue: config.temporal.task_queue, workflowId: uniqueId('t-one'), args: [{ exportName: one, date: DEMO_DATE, gcsPath: seededOne.gcsPath }] }),
        client.workflow.execute(TransferWorkflow, { taskQueue: config.temporal.task_queue, workflowId: uniqueId('t-four'), args: [{ exportName: four, date: DEMO_DATE, gcsPath: seededFour.gcsPath }] }),
      ]),
    );
  } finally {
    sampling = false;
    await sampler;
  }
  for (const [name, want] of seededOne.sha) assert.equal(sha256(fs.readFileSync(localSftpPath(`${pwDir}/${name}`, 'passwordUser'))), want);
  for (const [name, want] of seededFour.sha) assert.equal(sha256(fs.readFileSync(localSftpPath(`${keyDir}/${name}`, 'keyUser'))), want);
  assert.equal(peak.pw, 1, `the max_connections=1 partner never had more than one session (saw ${peak.pw})`);
  assert.ok(peak.key >= 2 && peak.key <= 4, `the other partner used its own, larger limit (saw ${peak.key})`);
});

test('secrets by reference never reach the history; the run summary names the connection, not its credentials', async () => {
  const name = exportName('conn_ref');
  const { connections, pwDir } = partners();
  const secret = info.sftp.passwordUser.password;
  const base = testConfig({ connections, exports: { [name]: { query, file_prefix: 'R', sftp: 'partner_pw' } } });
  // the same config written to a file with the password as a reference, loaded like a deployment would
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  raw.connections.sftp.partner_pw.password = { env: 'TEST_PARTNER_PW_SFTP_PASSWORD' };
  delete raw.connections.sftp.default;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-conn-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(raw));
  const config: Config = loadConfig({ path: file, env: { ...process.env, TEST_PARTNER_PW_SFTP_PASSWORD: secret } });
  const { history, result } = await withWorker(config, async (client) => {
    const handle = await startExport(client, config, { exportName: name, date: DEMO_DATE });
    const r = await handle.result();
    return { history: JSON.stringify(await handle.fetchHistory()), result: r };
  });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.ok(fs.existsSync(localSftpPath(`${pwDir}/R_20250108-000000000000.csv`)));
  assert.ok(!history.includes(secret) && !history.includes(Buffer.from(secret).toString('base64')), 'no password in history');
  assert.equal(result.transfer.connection, 'partner_pw', 'the result names the connection');
  assert.ok(!JSON.stringify(result).includes(secret));
});
