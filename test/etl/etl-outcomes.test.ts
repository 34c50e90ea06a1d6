/**
 * Bad input from the source or the lookups gets a clear outcome: malformed JSON fails the run
 * naming the page; a record that is not an object is a dead letter; a missing lookup file fails
 * the run naming the file and the config path; an unknown department is a dead letter (or a
 * null code with on_missing "null"); a wrong token is refused naming the auth settings.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { startEtlRun } from '../../src/etl/starter';
import { startUsersApi, type UsersApi } from '../../src/etl/users-api-server';
import { UNKNOWN_DEPARTMENT } from '../../src/etl/users-data';
import { describeFailure } from '../../src/export/workflow';
import type { DeadLetter } from '../../src/etl/transform';
import type { Config } from '../../src/config';
import { withWorker } from '../helpers/export';
import { etlConfig, gcsObject, jsonLines, tmpDir } from './helpers';

async function runFails(config: Config, pipeline: string): Promise<{ type: string; message: string }> {
  return withWorker(config, async (client) => {
    const h = await startEtlRun(client, config, { pipeline });
    try {
      await h.result();
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError);
      return describeFailure(err.cause);
    }
    throw new Error('the run was expected to fail');
  });
}

describe('EtlWorkflow: clear outcomes for bad input', () => {
  const dir = tmpDir('etl-outcomes');
  let api: UsersApi;
  before(async () => {
    api = await startUsersApi({ total: 600, token: 'tok-123' });
  });
  after(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const auth = { auth_token: 'tok-123' };

  it('malformed JSON from the source: the run fails with SourceMalformed naming the page', async () => {
    api.setFaults([{ page: 3, kind: 'malformed' }]);
    const f = await runFails(etlConfig({ name: 'bad_json', url: api.url, dir, source: { ...auth, attempts: 2 } }), 'bad_json');
    assert.equal(f.type, 'SourceMalformed');
    assert.match(f.message, /page 3 \(skip=200, limit=100\).*not JSON/);
  });

  it('a record that is not an object becomes a dead letter, the rest goes on', async () => {
    api.setFaults([{ page: 2, kind: 'non_object' }]);
    const config = etlConfig({ name: 'non_obj', url: api.url, dir, source: auth });
    const r = await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: 'non_obj' })).result());
    assert.equal(r.counts.raw, 600);
    assert.equal(r.reasons['record:object'], 1);
    const dead = jsonLines<DeadLetter>(await gcsObject(r.staged.bucket_objects.dlq)).find((d) => d.rule === 'record:object')!;
    assert.equal(dead.line, 101);
    assert.match(dead.error_reason, /^record: object — must be a JSON object \(got string\)/);
  });

  it('a missing lookup file fails the run with LookupFileMissing naming the file and the setting', async () => {
    api.setFaults([]);
    const missing = path.join(dir, 'nope', 'departments.csv');
    const config = etlConfig({
      name: 'no_lookup',
      url: api.url,
      dir,
      source: auth,
      pipeline: { lookups: [{ file: missing, key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' } }] },
    });
    const f = await runFails(config, 'no_lookup');
    assert.equal(f.type, 'LookupFileMissing');
    assert.ok(f.message.includes(missing), f.message);
    assert.match(f.message, /etl\.pipelines\.no_lookup\.lookups\[0\]\.file/);
  });

  it('an unknown department: a dead letter by default, a null code with on_missing "null"', async () => {
    api.setFaults([]);
    const csv = path.join(dir, 'departments.csv');
    const config = etlConfig({
      name: 'unknown_null',
      url: api.url,
      dir,
      source: auth,
      pipeline: { lookups: [{ file: csv, key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' }, on_missing: 'null' }] },
    });
    const r = await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: 'unknown_null' })).result());
    assert.equal(r.reasons['company.department:lookup'], undefined);
    const processed = jsonLines<{ company: { department: string }; department_code: string | null }>(await gcsObject(r.staged.bucket_objects.processed));
    const unknown = processed.filter((p) => p.company.department === UNKNOWN_DEPARTMENT);
    assert.equal(unknown.length, 6);
    assert.ok(unknown.every((p) => p.department_code === null));
  });

  it('a wrong token: SourceRefused naming the auth settings, no secret in the message', async () => {
    api.setFaults([]);
    const f = await runFails(etlConfig({ name: 'bad_token', url: api.url, dir, source: { auth_token: 'wrong-secret-value' } }), 'bad_token');
    assert.equal(f.type, 'SourceRefused');
    assert.match(f.message, /HTTP 401.*auth_token/);
    assert.ok(!f.message.includes('wrong-secret-value'));
  });
});
