import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const repo = path.resolve(__dirname, '../..');

/** Runs node's test runner on one file the way scripts/run-tests.sh does; resolves with its exit code (null when this test had to kill it). */
function runner(withPreload: boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const args = [...(withPreload ? ['--require', './test/helpers/exit-after-sigterm.cjs'] : []), '--test', '--test-timeout=1000', 'test/fixtures/hangs-ignoring-sigterm.cjs'];
    // without NODE_TEST_CONTEXT: this runner is a fresh one, not a file of ours
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const child = spawn(process.execPath, args, { cwd: repo, env: { ...env, BQSFTP_TEST_SIGTERM_GRACE_MS: '1000' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // bound this test itself: a runner still alive after 8 s is the hang being tested for; its
    // file's process first (by PID), then the runner
    const guard = setTimeout(() => {
      const pid = child.pid!;
      const files = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      for (const p of [...files, pid]) process.kill(p, 'SIGKILL');
    }, 8_000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
}

test('a test file that overruns its timeout and ignores SIGTERM no longer holds the test run: the runner reports it and exits', async () => {
  const r = await runner(true);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /timed out after 1000ms/);
});

test('control: without the preload the same file holds the runner (killed here after 8 s)', async () => {
  const r = await runner(false);
  assert.equal(r.code, null, 'the runner did not exit on its own');
  assert.match(r.out, /timed out after 1000ms/);
});
