import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkerProcess } from '../faults/helpers/worker-process';

// Benches and fault tests restart workers onto one log; an earlier worker's "polling task queue"
// line must not make a new start look ready (it made bench rounds time a worker's start-up).
test('WorkerProcess.start waits for its own "polling task queue", not one an earlier worker left in the log', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-wp-'));
  try {
    const logPath = path.join(dir, 'worker.log');
    fs.writeFileSync(logPath, 'bq-sftp worker polling task queue "bq-sftp"\n');
    const missingConfig = path.join(dir, 'no-such-config.json');
    await assert.rejects(WorkerProcess.start({ configPath: missingConfig, logPath }), /did not start/);
    assert.match(fs.readFileSync(logPath, 'utf8'), /^bq-sftp worker polling task queue/, 'the earlier lines are kept');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
