import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';
import { isAlive } from '../../src/stack/processes';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function stackCli(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/stack/cli.ts'), ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('stack up/status/down on a separate state folder: status reports down services after down', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-stack-'));
  const env = { BQSFTP_STACK_DIR: dir, BQSFTP_STACK_SERVICES: 'gcs', BQSFTP_GCS_PORT: String(await freePort()) };
  try {
    const upRun = stackCli(['up'], env);
    assert.equal(upRun.code, 0, upRun.out);
    const pid = Number(fs.readFileSync(path.join(dir, 'pids', 'gcs.pid'), 'utf8'));

    const running = stackCli(['status', '--json'], env);
    assert.equal(running.code, 0, running.out);
    assert.deepEqual(JSON.parse(running.out).map((s: { name: string; healthy: boolean }) => [s.name, s.healthy]), [['gcs', true]]);

    const downRun = stackCli(['down'], env);
    assert.equal(downRun.code, 0, downRun.out);
    assert.match(downRun.out, /Stopped: gcs/);
    assert.equal(isAlive(pid), false, 'the started process is gone');

    const after = stackCli(['status', '--json'], env);
    assert.equal(after.code, 1, 'status exits 1 when a service is down');
    assert.deepEqual(JSON.parse(after.out).map((s: { name: string; running: boolean }) => [s.name, s.running]), [['gcs', false]]);
  } finally {
    stackCli(['down'], env);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('stack up names the port when it is already taken', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-stack-'));
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const run = stackCli(['up'], { BQSFTP_STACK_DIR: dir, BQSFTP_STACK_SERVICES: 'gcs', BQSFTP_GCS_PORT: String(port) });
    assert.equal(run.code, 1);
    assert.match(run.out, new RegExp(`port ${port} \\(Cloud Storage \\(fake-gcs-server\\)\\) on 127\\.0\\.0\\.1 is already taken`));
    assert.ok(!fs.existsSync(path.join(dir, 'pids', 'gcs.pid')), 'nothing was started');
  } finally {
    blocker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
