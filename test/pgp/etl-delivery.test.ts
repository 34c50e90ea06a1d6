/**
 * An ETL pipeline with a `pgp` block, end to end on the stack (its users API, GCS staging, SQLite,
 * our sshd): the three files on SFTP are `<name>.jsonl.pgp`, gpg decrypts each to the staged
 * object's bytes and accepts our signature; an expired recipient key fails the run as a config
 * error naming the field, before anything is published.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { startEtlReplay, startEtlRun } from '../../src/etl/starter';
import { allConfiguredKeys } from '../../src/pgp/keys';
import type { EtlResult } from '../../src/etl/workflow';
import { withWorker } from '../helpers/export';
import { etlConfig, gcsObject, keyUserLocal, sha256, stackUsersApiUrl, tmpDir, uniqueId } from '../etl/helpers';
import { gpgParty, trust, validSigners } from './gpg';

const us = gpgParty('us', { passphrase: 'etl-signing-pass' });
const partner = gpgParty('partner');
trust(partner, us);
const dir = tmpDir('etl-pgp');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function pgpBlock(recipients: string[]) {
  return { recipients, signing_private_key: us.secretArmored, passphrase: us.passphrase };
}

test('ETL with pgp: the three files on SFTP are .jsonl.pgp, gpg decrypts each to the staged bytes and verifies our signature', async () => {
  const name = uniqueId('pgp');
  const config = etlConfig({ name, url: stackUsersApiUrl(), dir, pipeline: { pgp: pgpBlock([partner.publicArmored]) } });
  const stamp = '20250108_040000';
  const [result, replay] = await withWorker(config, async (client) => {
    const run: EtlResult = await (await startEtlRun(client, config, { pipeline: name, stamp })).result();
    // a DLQ replay (no rule changed: every dead letter stays dead) publishes its two files encrypted too
    const again = (await (await startEtlReplay(client, config, { pipeline: name, stamp })).result()) as { files: { remote_path: string; plaintext?: { bytes: number } }[] };
    return [run, again] as const;
  });
  assert.equal(replay.files.length, 2);
  for (const f of replay.files) {
    assert.match(f.remote_path, /_replay_\d{8}_\d{6}\.jsonl\.pgp$/);
    const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], fs.readFileSync(keyUserLocal(f.remote_path)));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(validSigners(r.stderr), [us.fingerprint]);
    assert.equal(r.stdout.length, f.plaintext?.bytes);
  }
  assert.deepEqual(
    result.files.map((f) => f.remote_path.split('/').slice(-2).join('/')),
    [`raw_users/records_${stamp}.jsonl.pgp`, `processed_users/etl_${stamp}.jsonl.pgp`, `dlq/invalid_users_${stamp}.jsonl.pgp`],
  );
  const staged = [result.staged.bucket_objects.raw, result.staged.bucket_objects.processed, result.staged.bucket_objects.dlq];
  for (const [i, f] of result.files.entries()) {
    const encrypted = fs.readFileSync(keyUserLocal(f.remote_path));
    const gcs = await gcsObject(staged[i]);
    const r = partner.gpgRaw(['--status-fd', '2', '--decrypt'], encrypted);
    assert.equal(r.status, 0, `${f.remote_path}: ${r.stderr}`);
    assert.equal(sha256(r.stdout), sha256(gcs), `${f.remote_path}: gpg --decrypt gives the staged object's bytes`);
    assert.deepEqual(validSigners(r.stderr), [us.fingerprint], `${f.remote_path}: gpg accepts our signature`);
    assert.equal(f.bytes, encrypted.length);
    assert.equal(f.sha256, sha256(encrypted));
    assert.deepEqual(f.plaintext, { bytes: gcs.length, sha256: sha256(gcs) });
  }
  // bq-sftp pgp check sees the pipeline's keys
  const listed = await allConfiguredKeys(config);
  assert.deepEqual(listed.problems, []);
  assert.deepEqual(
    listed.keys.filter((k) => k.field.startsWith(`etl.pipelines.${name}.`)).map((k) => [k.field, k.role, k.fingerprint]),
    [[`etl.pipelines.${name}.pgp.recipients[0]`, 'recipient', partner.fingerprint], [`etl.pipelines.${name}.pgp.signing_private_key`, 'signing', us.fingerprint]],
  );
  const folder = keyUserLocal(result.files[0].remote_path.split('/').slice(0, -1).join('/'));
  assert.deepEqual(fs.readdirSync(folder), [`records_${stamp}.jsonl.pgp`], 'no plaintext and no .partial on SFTP');
  assert.ok(fs.readdirSync(keyUserLocal(result.files[2].remote_path.split('/').slice(0, -1).join('/'))).every((f) => f.endsWith('.jsonl.pgp')));
});

test('ETL with an expired recipient key: the run fails as ConfigInvalid naming the field; no file is published', async () => {
  const old = gpgParty('expired', { fakedTime: '20200101T000000', expire: '1d' });
  const name = uniqueId('pgpx');
  const config = etlConfig({ name, url: stackUsersApiUrl(), dir, pipeline: { pgp: pgpBlock([old.publicArmored]) } });
  const err = await withWorker(config, async (client) => (await startEtlRun(client, config, { pipeline: name, stamp: '20250108_050000' })).result()).then(
    () => assert.fail('the run should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  let cause: unknown = err;
  while (cause && (cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
  assert.equal((cause as { type?: string }).type, 'ConfigInvalid');
  assert.match((cause as Error).message, new RegExp(`etl\\.pipelines\\.${name}\\.pgp\\.recipients\\[0\\]: the recipient key ${old.fingerprint}.*expired`));
  const base = (config.etl.pipelines[name] as { remote_base: string }).remote_base;
  const local = keyUserLocal(base);
  const files = fs.existsSync(local) ? fs.readdirSync(local, { recursive: true }).map(String).filter((f) => f.endsWith('.jsonl') || f.endsWith('.pgp')) : [];
  assert.deepEqual(files, [], 'nothing published');
});
