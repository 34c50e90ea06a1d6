/**
 * The ETL's interfaces: `bq-sftp etl dlq` (reasons, --json), `etl replay-dlq` after a rule and a
 * lookup fix (recovered records move from dlq_users to processed_users), bad input refused with
 * exit 2, and `schedules sync` creating the pipeline's schedule (`0 3 * * *`, EtlWorkflow).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { configSchema, type Config } from '../../src/config';
import { openSqlite } from '../../src/etl/db';
import { startEtlRun } from '../../src/etl/starter';
import { startUsersApi, type UsersApi } from '../../src/etl/users-api-server';
import { expectedOutcome, UNKNOWN_DEPARTMENT } from '../../src/etl/users-data';
import { desiredSchedules } from '../../src/export/schedules/desired';
import { syncSchedules } from '../../src/export/schedules/sync';
import { withWorker } from '../helpers/export';
import { etlConfigInput, keyUserLocal, tmpDir, uniqueId } from './helpers';

const BIN = path.resolve(__dirname, '../../bin/bq-sftp.js');
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function writeConfig(input: object, file: string): string {
  fs.writeFileSync(file, JSON.stringify(input));
  return file;
}

describe('bq-sftp etl: dlq, replay-dlq, bad input, schedules', () => {
  const dir = tmpDir('etl-cli');
  const name = uniqueId('cli').replace(/-/g, '_');
  const stamp = '20250103_030000';
  let api: UsersApi;
  let config: Config;
  let configPath: string;
  before(async () => {
    api = await startUsersApi({ total: 1000 });
    const input = etlConfigInput({ name, url: api.url, dir });
    config = configSchema.parse(input);
    configPath = writeConfig(input, path.join(dir, 'config.json'));
    await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: name, stamp })).result());
  });
  after(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('etl dlq --json lists every dead letter of the run with its reason and record', async () => {
    const r = await cli(['etl', 'dlq', name, '--run', stamp, '--json', '-c', configPath]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { rule: string; error_reason: string; record: { id: number } }[];
    assert.equal(rows.length, expectedOutcome(1000).invalid);
    assert.ok(rows.every((x) => x.error_reason.startsWith(x.rule.replace(':', ': ')) && typeof x.record.id === 'number'));
    const text = await cli(['etl', 'dlq', name, '--run', stamp, '-n', '3', '-c', configPath]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /age: max — must be at most 65/);
  });

  it('etl replay-dlq after a fix: recovered records move to processed_users, the rest keep their reasons', async () => {
    const csv = path.join(dir, 'departments-fixed.csv');
    fs.writeFileSync(csv, `${fs.readFileSync(config.etl.pipelines[name].lookups[0].file, 'utf8')}${UNKNOWN_DEPARTMENT},QOP\n`);
    const fixedInput = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, Record<string, Record<string, Record<string, unknown>>>>;
    const p = fixedInput.etl.pipelines[name];
    p.validation = { ...(p.validation as object), age: { min: 18, max: 90 } };
    p.lookups = [{ ...(p.lookups as unknown as Record<string, unknown>[])[0], file: csv }] as unknown as Record<string, unknown>;
    const fixed = configSchema.parse(fixedInput);
    const fixedPath = writeConfig(fixedInput, path.join(dir, 'fixed.json'));
    const before = await (async () => {
      const db = openSqlite(config.etl.sqlite_path);
      const c = await db.counts(name, stamp);
      await db.close();
      return c;
    })();
    const r = await withWorker(fixed, () => cli(['etl', 'replay-dlq', name, '--run', stamp, '--json', '-c', fixedPath]));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { result: { replayed: number; recovered: number; still_dead: number; reasons: Record<string, number>; files: { remote_path: string }[] } };
    const want = expectedOutcome(1000).byRule;
    assert.equal(out.result.replayed, before.dlq);
    assert.equal(out.result.recovered, want['age:max'] + want['company.department:lookup']);
    assert.equal(out.result.still_dead, before.dlq - out.result.recovered);
    assert.equal(out.result.reasons['age:max'], undefined);
    const db = openSqlite(config.etl.sqlite_path);
    assert.deepEqual(await db.counts(name, stamp), { raw: before.raw, processed: before.processed + out.result.recovered, dlq: before.dlq - out.result.recovered });
    assert.equal(await db.duplicates(name, stamp), 0);
    await db.close();
    for (const f of out.result.files) assert.ok(fs.existsSync(keyUserLocal(f.remote_path)), f.remote_path);
  });

  it('bad input exits 2 naming the problem, before anything is contacted', async () => {
    const unknown = await cli(['etl', 'run', 'no_such_pipeline', '-c', configPath]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown pipeline "no_such_pipeline": known: /);
    const badRun = await cli(['etl', 'dlq', name, '--run', '2025-01-03', '-c', configPath]);
    assert.equal(badRun.code, 2);
    assert.match(badRun.stderr, /--run: "2025-01-03" is not a run id YYYYMMDD_HHMMSS/);
    const noRun = await cli(['etl', 'replay-dlq', name, '-c', configPath]);
    assert.equal(noRun.code, 2);
    assert.match(noRun.stderr, /--run/);
  });

  it("schedules sync creates the pipeline's schedule (0 3 * * *, EtlWorkflow) and removes it with the pipeline", async () => {
    const mine = desiredSchedules(config).find((d) => d.id === `${config.temporal.task_queue}-etl-${name}`);
    assert.ok(mine);
    assert.equal(mine.cron, '0 3 * * *');
    assert.deepEqual(mine.input, { pipeline: name });
    await withWorker(config, async (client) => {
      await syncSchedules(client, config);
      const d = await client.schedule.getHandle(mine.id).describe();
      assert.equal(d.action.type, 'startWorkflow');
      assert.equal((d.action as { workflowType: string }).workflowType, 'EtlWorkflow');
      assert.match(d.state.note ?? '', new RegExp(`ETL pipeline ${name}`));
      assert.deepEqual(d.action.type === 'startWorkflow' ? d.action.args : [], [{ pipeline: name }]);
      const emptied = configSchema.parse({ ...JSON.parse(fs.readFileSync(configPath, 'utf8')), etl: { pipelines: {} } });
      const plan = await syncSchedules(client, emptied);
      assert.ok(plan.delete.includes(mine.id));
    });
  });
});
