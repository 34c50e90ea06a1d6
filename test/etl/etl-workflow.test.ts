/**
 * EtlWorkflow end to end on the real stack: the stack's users API (10,000 users, 7 % invalid in
 * known ways), GCS staging, SQLite, and our sshd with the key + passphrase user.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqlite } from '../../src/etl/db';
import { startEtlRun } from '../../src/etl/starter';
import { DEPARTMENTS, expectedOutcome, UNKNOWN_DEPARTMENT } from '../../src/etl/users-data';
import type { EtlResult } from '../../src/etl/workflow';
import type { DeadLetter } from '../../src/etl/transform';
import { withWorker } from '../helpers/export';
import { stack } from '../helpers/stack';
import { etlConfig, gcsObject, jsonLines, keyUserLocal, sha256, stackUsersApiUrl, tmpDir, uniqueId } from './helpers';

describe('EtlWorkflow over the stack\'s users API (10,000 users)', () => {
  const dir = tmpDir('etl-e2e');
  const name = uniqueId('users');
  // the stack's API needs no token: this one only proves that a secret stays out of the history
  const config = etlConfig({ name, url: stackUsersApiUrl(), dir, source: { auth_token: 'etl-secret-token-4711', api_key: 'etl-secret-key-4712' } });
  let result: EtlResult;
  const stamp = '20250108_030000';

  before(async () => {
    result = await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: name, stamp })).result());
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('raw = processed + dead letters, and the dead letters are exactly the known invalid users, by rule', () => {
    const want = expectedOutcome(10_000);
    assert.equal(result.counts.raw, 10_000);
    assert.equal(result.counts.processed + result.counts.dead_lettered, result.counts.raw);
    assert.equal(result.counts.dead_lettered, want.invalid);
    assert.deepEqual(result.reasons, want.byRule);
    assert.equal(result.run_id, stamp);
    assert.equal(result.workflow_id, `etl-${name}-${stamp}`);
  });

  it('every dead letter has an error_reason naming the field and the rule', async () => {
    const dead = jsonLines<DeadLetter>(await gcsObject(result.staged.bucket_objects.dlq));
    assert.equal(dead.length, result.counts.dead_lettered);
    for (const d of dead) {
      const [field, rule] = d.rule.split(':');
      assert.ok(d.error_reason.startsWith(`${field}: ${rule} — `), d.error_reason);
      assert.ok(d.record && typeof d.record === 'object');
    }
    const unknown = dead.find((d) => d.rule === 'company.department:lookup')!;
    assert.match(unknown.error_reason, new RegExp(`"${UNKNOWN_DEPARTMENT}" is not in departments.csv`));
  });

  it('department_code matches departments.csv for every processed record', async () => {
    const codes = new Map(DEPARTMENTS.map((d) => [d.department, d.code]));
    const processed = jsonLines<{ company: { department: string }; department_code: string }>(await gcsObject(result.staged.bucket_objects.processed));
    assert.equal(processed.length, result.counts.processed);
    for (const p of processed) assert.equal(p.department_code, codes.get(p.company.department));
  });

  it('table counts match the files, and no row is duplicated', async () => {
    const db = openSqlite(config.etl.sqlite_path);
    try {
      assert.deepEqual(await db.counts(name, stamp), { raw: 10_000, processed: result.counts.processed, dlq: result.counts.dead_lettered });
      assert.deepEqual(result.rows, { raw: 10_000, processed: result.counts.processed, dlq: result.counts.dead_lettered });
      assert.equal(await db.duplicates(name, stamp), 0);
      const dead = await db.deadLetters(name, stamp);
      assert.ok(dead.every((d) => d.error_reason.startsWith(d.rule.replace(':', ': '))));
      const sql = new Database(config.etl.sqlite_path, { readonly: true });
      const codes = new Map(DEPARTMENTS.map((d) => [d.department, d.code]));
      const rows = sql.prepare("SELECT data, department_code FROM processed_users WHERE pipeline = ? AND run_id = ?").all(name, stamp) as { data: string; department_code: string }[];
      sql.close();
      for (const r of rows) assert.equal(r.department_code, codes.get((JSON.parse(r.data) as { company: { department: string } }).company.department));
    } finally {
      await db.close();
    }
  });

  it('no record travels through the workflow history: only counts and file names', async () => {
    const history = await withWorker(config, async (client) => client.workflow.getHandle(result.workflow_id).fetchHistory());
    // payloads are bytes, base64 in the history's JSON: read them as text
    const text = JSON.stringify(history).replace(/"([A-Za-z0-9+/]{16,}={0,2})"/g, (_m, b64: string) => JSON.stringify(Buffer.from(b64, 'base64').toString('utf8')));
    assert.ok(text.includes('raw_users/records_'), 'file names are there');
    assert.ok(!text.includes('@example.com'), 'no email address of any user');
    assert.ok(!text.includes('etl-secret-token-4711') && !text.includes('etl-secret-key-4712'), 'no secret of the source');
    assert.ok(!text.includes(stack().sftp.keyUser.passphrase), 'no SFTP passphrase');
    assert.ok(!text.includes('lastName') && !text.includes('birthDate'), 'no record field (rule names like firstName:required are fine)');
    assert.ok(text.length < 200_000, `history is small (${text.length} bytes)`);
  });

  it('the three files on SFTP equal the staged ones (sha256)', async () => {
    assert.equal(result.files.length, 3);
    const staged = [result.staged.bucket_objects.raw, result.staged.bucket_objects.processed, result.staged.bucket_objects.dlq];
    for (const [i, f] of result.files.entries()) {
      const local = fs.readFileSync(keyUserLocal(f.remote_path));
      const gcs = await gcsObject(staged[i]);
      assert.equal(sha256(local), sha256(gcs), f.remote_path);
      assert.equal(f.sha256, sha256(gcs));
      assert.equal(f.bytes, gcs.length);
    }
    assert.deepEqual(
      result.files.map((f) => f.remote_path.split('/').slice(-2).join('/')),
      [`raw_users/records_${stamp}.jsonl`, `processed_users/etl_${stamp}.jsonl`, `dlq/invalid_users_${stamp}.jsonl`],
    );
    const folder = keyUserLocal(result.files[0].remote_path.split('/').slice(0, -1).join('/'));
    assert.deepEqual(fs.readdirSync(folder), [`records_${stamp}.jsonl`], 'no .partial left');
  });
});
