/**
 * Backups with a `pgp` block, end to end on the stack (BigQuery emulator, GCS staging, our sshd,
 * a second bucket): every file at the destination is `<part>.parquet.pgp`, GnuPG decrypts it to a
 * Parquet file pyarrow reads with the table's columns and rows, and accepts our signature; verify
 * and restore decrypt while they read (restore gives the original rows back); a tampered file is
 * caught by verify and refused by restore naming it; an expired recipient key fails the backup as
 * a config error naming the field before anything is written.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { createBigQuery } from '../../src/bigquery/client';
import { BackupRestoreWorkflow, BackupVerifyWorkflow, BackupWorkflow } from '../../src/backup/workflow';
import { backupRestoreWorkflowId, backupVerifyWorkflowId, backupWorkflowId, MANIFEST_NAME } from '../../src/backup/naming';
import type { BackupManifest } from '../../src/backup/activities';
import { BACKUP_DEMO_ROWS, BACKUP_OFFSITE_BUCKET } from '../../src/stack/seed-backup';
import { localSftpPath, storage, withWorker } from '../helpers/export';
import { sha256, stack, uniqueId } from '../helpers/stack';
import { BACKUP_DEMO_DATASET, backupTestConfig, ensurePyarrow, readParquet } from '../backup/helpers';
import { gpgParty, trust, validSigners } from './gpg';
import { Readable } from 'node:stream';
import type { ActivityDeps } from '../../src/activities';
import { openDestination } from '../../src/backup/destinations';
import { checkSourceRead } from '../../src/backup/destinations/hashing';
import { encryptBackupFile, usableBackupKeys } from '../../src/pgp/backup';
import { SftpPool } from '../../src/sftp';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivityDeps } from '../../src/activities/deps';
import { createBackupActivities, type ExtractResult, type TransferTableResult } from '../../src/backup/activities';

const DATE = '2025-04-04';
const TABLES = ['customers_intl', 'orders'];
const COLUMNS: Record<string, string[]> = {
  customers_intl: ['id', 'name', 'email', 'country', 'signup_date', 'last_login', 'active', 'balance'],
};

const us = gpgParty('us', { passphrase: 'backup-signing' });
const vault = gpgParty('vault', { passphrase: 'backup-vault' });
const partner = gpgParty('partner');
trust(vault, us);
trust(partner, us);

function pgpBlock(recipients: string[]) {
  return { recipients, signing_private_key: us.secretArmored, passphrase: us.passphrase, decryption_private_key: vault.secretArmored, decryption_passphrase: vault.passphrase };
}

/** gpg decrypts `bytes` in `party`'s home: the plaintext, and whose signatures verified. */
function gpgDecrypt(party: typeof vault, bytes: Buffer): { plaintext: Buffer; signers: string[] } {
  const r = party.gpgRaw(['--status-fd', '2', '--decrypt'], bytes);
  assert.equal(r.status, 0, r.stderr);
  return { plaintext: r.stdout, signers: validSigners(r.stderr) };
}

function rootCause(err: unknown): { type?: string; message: string } {
  let cause = err;
  while (cause && (cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
  return cause as { type?: string; message: string };
}

const runBackup = (config: Config, name: string) =>
  withWorker(config, (client) =>
    client.workflow.execute(BackupWorkflow, { taskQueue: config.temporal.task_queue, workflowId: backupWorkflowId(name, DATE), args: [{ backup: name, date: DATE }] }),
  );

describe('backups with OpenPGP', () => {
  before(() => ensurePyarrow());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-bk-pgp-'));

  test('to SFTP: only .parquet.pgp files, gpg decrypts each to Parquet pyarrow reads, our signature verifies; verify and restore decrypt', async () => {
    const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, tables: TABLES, pgp: pgpBlock([partner.publicArmored]) });
    const result = await runBackup(config, name);
    assert.deepEqual(result.tables.filter((t) => t.status === 'error'), []);
    assert.equal(result.success, TABLES.length);

    const base = localSftpPath(config.sftp!.directory);
    const dirOf = (table: string) => path.join(base, 'GCP/bigquery', BACKUP_DEMO_DATASET, table, DATE);
    for (const table of TABLES) {
      const names = fs.readdirSync(dirOf(table)).sort();
      assert.deepEqual(names, [MANIFEST_NAME, 'part-00000.parquet.pgp'], `${table}: no plaintext, no .partial`);
      const manifest = JSON.parse(fs.readFileSync(path.join(dirOf(table), MANIFEST_NAME), 'utf8')) as BackupManifest;
      assert.deepEqual(manifest.pgp, { suffix: '.pgp', armor: false, recipients: [partner.fingerprint, vault.fingerprint], signer: us.fingerprint });
      assert.equal(manifest.files.length, 1);
      const f = manifest.files[0];
      const encrypted = fs.readFileSync(path.join(dirOf(table), f.name));
      assert.equal(f.size, encrypted.length);
      assert.equal(f.sha256, sha256(encrypted));
      // our own key reads it (what restore uses), and so does the partner's
      for (const party of [vault, partner]) {
        const { plaintext, signers } = gpgDecrypt(party, encrypted);
        assert.deepEqual(signers, [us.fingerprint], `${table}: gpg accepts our signature`);
        assert.deepEqual(f.plaintext, { name: 'part-00000.parquet', bytes: plaintext.length, sha256: sha256(plaintext) });
      }
      const local = path.join(tmp, `${table}.parquet`);
      fs.writeFileSync(local, gpgDecrypt(vault, encrypted).plaintext);
      const facts = readParquet([local]);
      assert.equal(facts.rows, BACKUP_DEMO_ROWS[table], `${table}: pyarrow reads the decrypted Parquet`);
      assert.equal(manifest.row_count, BACKUP_DEMO_ROWS[table]);
      if (COLUMNS[table]) assert.deepEqual(facts.columns, COLUMNS[table]);
      assert.deepEqual(facts.columns, manifest.schema.map((c) => c.name));
      assert.deepEqual(facts.compression, ['SNAPPY']);
    }

    const verify = (client: Client) =>
      client.workflow.execute(BackupVerifyWorkflow, { taskQueue: config.temporal.task_queue, workflowId: `${backupVerifyWorkflowId(name, DATE)}-${uniqueId('v')}`, args: [{ backup: name, date: DATE }] });
    const restore = (client: Client, scratch: string) =>
      client.workflow.execute(BackupRestoreWorkflow, {
        taskQueue: config.temporal.task_queue,
        workflowId: backupRestoreWorkflowId(name, DATE, scratch),
        args: [{ backup: name, date: DATE, to_dataset: scratch }],
      });
    const info = stack();
    const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
    const facts = async (ds: string) =>
      (
        await bq.query({
          query: `SELECT COUNT(*) AS n, ROUND(SUM(amount), 2) AS total, CAST(MAX(ordered_at) AS STRING) AS last_at, CAST(MIN(ship_date) AS STRING) AS first_ship,
                  COUNTIF(ship_date IS NULL) AS no_ship, COUNTIF(gift) AS gifts, MAX(note) AS note, MAX(status) AS status
                  FROM \`${info.bigquery.projectId}.${ds}.orders\``,
        })
      )[0][0] as Record<string, unknown>;

    await withWorker(config, async (client) => {
      const ok = await verify(client);
      assert.equal(ok.ok, true, JSON.stringify(ok));
      for (const t of ok.tables) assert.deepEqual([t.table, t.ok, t.pgp_failures], [t.table, true, []]);

      const scratch = uniqueId('restore_pgp').replace(/-/g, '_');
      const r = await restore(client, scratch);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.tables.map((t) => [t.table, t.rows_restored, t.load_format]), TABLES.map((t) => [t, BACKUP_DEMO_ROWS[t], 'PARQUET']));
      assert.deepEqual(await facts(scratch), await facts(BACKUP_DEMO_DATASET), 'the restored rows are the original rows');

      // one byte of the encrypted orders file changed: verify names it, restore refuses it
      const file = path.join(dirOf('orders'), 'part-00000.parquet.pgp');
      const bytes = fs.readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      fs.writeFileSync(file, bytes);
      const bad = await verify(client);
      assert.equal(bad.ok, false);
      const orders = bad.tables.find((t) => t.table === 'orders')!;
      assert.deepEqual(orders.checksum_mismatches.map((m) => m.name), ['part-00000.parquet.pgp']);
      assert.deepEqual(orders.pgp_failures?.map((f) => [f.name, f.type]), [['part-00000.parquet.pgp', 'PgpIntegrityFailed']]);
      assert.equal(bad.tables.find((t) => t.table === 'customers_intl')!.ok, true);
      const err = await restore(client, uniqueId('restore_bad').replace(/-/g, '_')).then(
        () => assert.fail('restoring a tampered encrypted backup must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = rootCause(err);
      assert.equal(cause.type, 'PgpIntegrityFailed');
      assert.match(cause.message, /orders\/2025-04-04\/part-00000\.parquet\.pgp/);
    });
  });

  test('to a second GCS bucket: objects are .parquet.pgp that gpg decrypts to Parquet; verify decrypts them', async () => {
    const { config, name } = backupTestConfig({
      destination: { type: 'gcs', bucket: BACKUP_OFFSITE_BUCKET },
      path: 'pgp/{backup}/{table}/{date}/',
      tables: ['customers_intl'],
      pgp: { ...pgpBlock([]), armor: true },
    });
    const result = await runBackup(config, name);
    assert.deepEqual(result.tables.map((t) => [t.table, t.status]), [['customers_intl', 'success']], JSON.stringify(result.tables));
    const [objects] = await storage().bucket(BACKUP_OFFSITE_BUCKET).getFiles({ prefix: `pgp/${name}/customers_intl/${DATE}/` });
    assert.deepEqual(objects.map((o) => path.basename(o.name)).sort(), [MANIFEST_NAME, 'part-00000.parquet.pgp']);
    const [encrypted] = await objects.find((o) => o.name.endsWith('.pgp'))!.download();
    assert.match(encrypted.subarray(0, 40).toString('latin1'), /^-----BEGIN PGP MESSAGE-----/, 'armor: true');
    const { plaintext, signers } = gpgDecrypt(vault, encrypted);
    assert.deepEqual(signers, [us.fingerprint]);
    const local = path.join(tmp, 'gcs-customers.parquet');
    fs.writeFileSync(local, plaintext);
    const facts = readParquet([local]);
    assert.equal(facts.rows, BACKUP_DEMO_ROWS.customers_intl);
    assert.deepEqual(facts.columns, COLUMNS.customers_intl);
    const ok = await withWorker(config, (client) =>
      client.workflow.execute(BackupVerifyWorkflow, { taskQueue: config.temporal.task_queue, workflowId: `${backupVerifyWorkflowId(name, DATE)}-${uniqueId('v')}`, args: [{ backup: name, date: DATE }] }),
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
  });

  test('a retried transfer skips the encrypted files its last heartbeat recorded; without that record it encrypts them again', async () => {
    const table = 'customers_intl';
    const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, tables: [table], pgp: pgpBlock([]) });
    const deps = buildActivityDeps(config);
    try {
      const acts = createBackupActivities(deps);
      const x = (await new MockActivityEnvironment().run(acts.backupExtractTable, { backup: name, date: DATE, table })) as ExtractResult;
      const input = { backup: name, date: DATE, table, staging_bucket: x.staging_bucket, staging_prefix: x.staging_prefix };
      const env1 = new MockActivityEnvironment();
      const beats: unknown[] = [];
      env1.on('heartbeat', (d: unknown) => beats.push(structuredClone(d)));
      const first = (await env1.run(acts.backupTransferTable, input)) as TransferTableResult;
      assert.deepEqual(first.files.map((f) => f.name), ['part-00000.parquet.pgp']);
      const file = path.join(localSftpPath(config.sftp!.directory), 'GCP/bigquery', BACKUP_DEMO_DATASET, table, DATE, 'part-00000.parquet.pgp');
      const bytes = fs.readFileSync(file);

      const resumed = (await new MockActivityEnvironment({ heartbeatDetails: beats.at(-1), attempt: 2 }).run(acts.backupTransferTable, input)) as TransferTableResult;
      assert.deepEqual(resumed.skipped, ['part-00000.parquet'], 'the heartbeat knows the encrypted size of this plaintext');
      assert.deepEqual(resumed.files, first.files);
      assert.ok(fs.readFileSync(file).equals(bytes), 'not written again');

      const fresh = (await new MockActivityEnvironment({ attempt: 3 }).run(acts.backupTransferTable, input)) as TransferTableResult;
      assert.deepEqual(fresh.skipped, [], 'no record of the encrypted size: encrypted and published again');
      assert.deepEqual(fresh.files[0].plaintext, first.files[0].plaintext);
      const again = fs.readFileSync(file);
      assert.ok(!again.equals(bytes), 'a new OpenPGP message (new session key)');
      assert.equal(sha256(gpgDecrypt(vault, again).plaintext), first.files[0].plaintext!.sha256);
    } finally {
      await deps.sftpPool.closeAll();
    }
  });

  test('an encrypted file whose plaintext is not the staged object (short read) is never published (SFTP); GCS checks the same hook before an object exists', async () => {
    const pool = new SftpPool();
    try {
      const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, pgp: pgpBlock([]) });
      const b = config.backups[name];
      const keys = await usableBackupKeys(config, name, b.pgp!);
      const dest = openDestination({ config, sftpPool: pool, storage: storage() } as unknown as ActivityDeps, name, b);
      // the staged object has 10 bytes; the read ended after 9 without an error
      const enc = encryptBackupFile(Readable.from([Buffer.from('123456789')]), keys, b.pgp!, { size: 10, fileName: 'part-00000.parquet' });
      await assert.rejects(
        dest.publish('short', 'part-00000.parquet.pgp', enc.stream, {
          signal: new AbortController().signal,
          onProgress: () => undefined,
          beforePublish: () => checkSourceRead('part-00000.parquet', { size: 10 }, enc.plaintext()),
        }),
        // (the SFTP layer wraps it: an upload error whose cause is the mismatch)
        (e: Error & { cause?: { type?: string } }) => e.cause?.type === 'SourceSizeMismatch' && /read 9 bytes of part-00000\.parquet but the source has 10/.test(e.message),
      );
      assert.deepEqual((await dest.list('short')).map((e) => e.name), [], 'nothing published, no .partial left');
    } finally {
      await pool.closeAll();
    }
    // GCS: the hook runs before the upload completes. (An empty source: once an upload has started,
    // a failed one leaves the client's HTTP request open until the server drops it, which would keep
    // this test process alive; the encrypted GCS path is the same call.)
    const { config, name } = backupTestConfig({ destination: { type: 'gcs', bucket: BACKUP_OFFSITE_BUCKET }, path: 'short/{backup}/{table}/{date}/', pgp: pgpBlock([]) });
    const gcs = openDestination({ config, storage: storage() } as unknown as ActivityDeps, name, config.backups[name]);
    await assert.rejects(
      gcs.publish(`short/${name}`, 'part-00000.parquet.pgp', Readable.from([]), {
        signal: new AbortController().signal,
        onProgress: () => undefined,
        beforePublish: () => checkSourceRead('part-00000.parquet', { size: 10 }, { bytes: 0 }),
      }),
      (e: Error & { type?: string }) => e.type === 'SourceSizeMismatch',
    );
    assert.deepEqual(await gcs.list(`short/${name}`), [], 'no object');
  });

  test('an expired recipient key: the backup fails as ConfigInvalid naming the field; nothing is written', async () => {
    const old = gpgParty('expired', { fakedTime: '20200101T000000', expire: '1d' });
    const { config, name } = backupTestConfig({ destination: { type: 'sftp' }, tables: TABLES, pgp: pgpBlock([partner.publicArmored, old.publicArmored]) });
    const err = await runBackup(config, name).then(
      () => assert.fail('the backup should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = rootCause(err);
    assert.equal(cause.type, 'ConfigInvalid');
    assert.match(cause.message, new RegExp(`backups\\.${name}\\.pgp\\.recipients\\[1\\]: the recipient key ${old.fingerprint}.*expired`));
    assert.equal(fs.existsSync(localSftpPath(config.sftp!.directory)), false, 'nothing written to SFTP');
  });
});
