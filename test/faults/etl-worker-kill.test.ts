/**
 * ETL fault: the worker is SIGKILLed while `etlSave` runs (publishing to SFTP), or during the
 * one-pass extract while its SQLite load thread holds the run's open transaction; a new worker
 * process starts and the run completes: no duplicate rows, the table counts match the files, the
 * SFTP files equal the staged ones, no `.partial` left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { clientFor } from '../../src/cli/config-option';
import { openSqlite } from '../../src/etl/db';
import { startEtlRun } from '../../src/etl/starter';
import { startUsersApi, type UsersApi } from '../../src/etl/users-api-server';
import { configSchema } from '../../src/config';
import { etlConfigInput, gcsObject, keyUserLocal, sha256, tmpDir, uniqueId } from '../etl/helpers';
import { reportFigures, trials, waitFor } from './helpers/figures';
import { WorkerProcess } from './helpers/worker-process';

const TRIALS = trials(2);
const tmp = tmpDir('bq-sftp-etl-kill');
let api: UsersApi;
let client: Client | undefined;
const results: { completed: boolean; killedAfterRows: boolean; duplicates: number; differing: number; partialsLeft: number; saveAttempts: number }[] = [];

before(async () => {
  api = await startUsersApi({ total: 20_000 });
});

after(async () => {
  await client?.connection.close();
  await api.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  reportFigures('ETL worker SIGKILL during save or the extract', {
    trials: results.length,
    completed: results.filter((r) => r.completed).length,
    duplicate_rows: results.reduce((n, r) => n + r.duplicates, 0),
    files_differing: results.reduce((n, r) => n + r.differing, 0),
    partials_left: results.reduce((n, r) => n + r.partialsLeft, 0),
    killed_after_db_load: results.filter((r) => r.killedAfterRows).length,
    save_attempts: results.map((r) => r.saveAttempts),
  });
});

const cases: { trial: number; during: 'save' | 'extract' }[] = [
  ...Array.from({ length: TRIALS }, (_, i) => ({ trial: i + 1, during: 'save' as const })),
  { trial: TRIALS + 1, during: 'extract' },
];
for (const { trial, during } of cases) {
  test(`ETL trial ${trial}/${cases.length}: SIGKILL during ${during === 'save' ? 'save' : 'the extract (its SQLite transaction open)'}, a new worker finishes the run`, async () => {
    const name = uniqueId('kill').replace(/-/g, '_');
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    const input = etlConfigInput({ name, url: api.url, dir, source: { page_size: 500 } });
    const config = configSchema.parse(input);
    client ??= await clientFor(config);
    const configPath = path.join(dir, 'config.json');
    fs.writeFileSync(configPath, JSON.stringify(input));
    const logPath = path.join(dir, 'worker.log');
    const first = await WorkerProcess.start({ configPath, logPath, env: { BQSFTP_LOG_LEVEL: 'WARN' } });
    let second: WorkerProcess | undefined;
    try {
      const stamp = `2025010${trial}_030000`;
      // the extract parks on page 25 of 40 (records 12,001–12,500) until the kill; the retry gets it
      if (during === 'extract') api.setFaults([{ page: 25, kind: 'stall', ms: 20_000, times: 1 }]);
      const handle = await startEtlRun(client, config, { pipeline: name, stamp });
      if (during === 'extract') {
        // page 25 asked for: pages 1–20 (two chunks of 5,000) were taken; a moment later their parts
        // are stored and their rows are in the load thread's open transaction
        await waitFor('the extract to reach page 25', () => (api.log.some((e) => e.page === 25 && e.skip === 12_000) ? true : undefined), 120_000);
        await new Promise((r) => setTimeout(r, 1500));
        const { raw } = await handle.describe();
        assert.ok(raw.pendingActivities?.some((a) => a.activityType?.name === 'etlExtractTransform'), 'killed during the extract');
      }
      // kill as soon as save runs (the first trial: at once; later ones: once it has heartbeated)
      const killedAfterRows = during === 'extract' ? { rows: false } : await waitFor('etlSave to start', async () => {
        const { raw } = await handle.describe();
        const save = raw.pendingActivities?.find((a) => a.activityType?.name === 'etlSave');
        if (!save) return undefined;
        if (trial % 2 === 0 && !save.heartbeatDetails?.payloads?.length) return undefined;
        return { rows: (save.heartbeatDetails?.payloads?.length ?? 0) > 0 };
      }, 120_000);
      await first.kill();
      second = await WorkerProcess.start({ configPath, logPath, env: { BQSFTP_LOG_LEVEL: 'WARN' } });
      const result = await handle.result();

      const db = openSqlite(config.etl.sqlite_path);
      const counts = await db.counts(name, stamp);
      const duplicates = await db.duplicates(name, stamp);
      await db.close();
      assert.deepEqual(counts, { raw: 20_000, processed: result.counts.processed, dlq: result.counts.dead_lettered });
      assert.equal(duplicates, 0);

      const staged = [result.staged.bucket_objects.raw, result.staged.bucket_objects.processed, result.staged.bucket_objects.dlq];
      let differing = 0;
      for (const [i, f] of result.files.entries()) {
        if (sha256(fs.readFileSync(keyUserLocal(f.remote_path))) !== sha256(await gcsObject(staged[i]))) differing++;
      }
      const base = keyUserLocal(config.etl.pipelines[name].remote_base!);
      const partialsLeft = ['raw_users', 'processed_users', 'dlq'].flatMap((d) => fs.readdirSync(path.join(base, d))).filter((n) => n.endsWith('.partial')).length;
      let saveAttempts = 0;
      for (const e of (await handle.fetchHistory()).events ?? []) {
        if (e.activityTaskStartedEventAttributes) saveAttempts = Math.max(saveAttempts, e.activityTaskStartedEventAttributes.attempt ?? 0);
      }
      results.push({ completed: true, killedAfterRows: killedAfterRows.rows, duplicates, differing, partialsLeft, saveAttempts });
      assert.equal(differing, 0);
      assert.equal(partialsLeft, 0);
    } catch (err) {
      results.push({ completed: false, killedAfterRows: false, duplicates: -1, differing: -1, partialsLeft: -1, saveAttempts: 0 });
      throw err;
    } finally {
      api.setFaults([]);
      await first.kill();
      await second?.stop();
    }
  });
}
