/**
 * The ingest's SFTP file sync with OpenPGP: a users report that gpg encrypted to us and the
 * partner signed is decrypted while streaming and loaded; a tampered copy or one signed by
 * another key fails the job permanently with a message naming the file, and nothing is loaded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { closePostgresPools } from '../../src/postgres/client';
import { ingestJobQuery } from '../../src/ingest/workflow';
import { withWorker } from '../helpers/export';
import { localSftpPath } from '../helpers/export';
import { ingestConfig, migrated, pool, startJob, tenantId, usersCsv, writeSftpFile } from '../ingest/helpers';
import { gpgParty, trust } from './gpg';

const us = gpgParty('us', { passphrase: 'ingest-pass' });
const partner = gpgParty('partner');
const stranger = gpgParty('stranger');
trust(partner, us);
trust(stranger, us);

const ROWS: [string, string, string][] = Array.from({ length: 50 }, (_, i) => [`u${i + 1}`, `u${i + 1}@example.com`, `Co ${i + 1}`]);

function config(tenant: string): Config & { folder: string } {
  const c = ingestConfig(tenant, {
    extra: { pgp: { decryption_private_key: us.secretArmored, passphrase: us.passphrase, verification_keys: [partner.publicArmored] } },
  });
  const t = (c.ingest as unknown as { tenants: Record<string, { users_file: { pattern: string } }> }).tenants[tenant];
  t.users_file.pattern = 'users_*.csv.gpg';
  return c;
}

function writeEncrypted(remote: string, data: Buffer): void {
  writeSftpFile(remote, '');
  fs.writeFileSync(localSftpPath(remote), data);
}

before(async () => {
  await migrated(config(tenantId('m')));
});

after(async () => {
  await closePostgresPools();
});

async function users(c: Config, tenant: string): Promise<number> {
  const { rows } = await pool(c).query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE tenant_id = $1', [tenant]);
  return rows[0].n;
}

test('an encrypted, signed users report is decrypted while streaming and loaded', async () => {
  const tenant = tenantId('pgpok');
  const c = config(tenant);
  writeEncrypted(`${c.folder}/users_20250131.csv.gpg`, partner.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt'], Buffer.from(usersCsv(ROWS))));
  await withWorker(c, async (client) => {
    const job = await (await startJob(client, c, tenant, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['users'] })).result();
    assert.equal(job.status, 'completed');
    assert.equal(job.records_processed.users_processed, ROWS.length);
  });
  assert.equal(await users(c, tenant), ROWS.length);
});

async function failedJob(client: Client, c: Config, tenant: string) {
  const handle = await startJob(client, c, tenant, { start_date: '2025-01-01', end_date: '2025-01-01', data_types: ['users'] });
  const err = await handle.result().then(() => assert.fail('the job should have failed'), (e: unknown) => e);
  assert.ok(err instanceof WorkflowFailedError);
  return handle.query(ingestJobQuery);
}

test('a tampered report and one signed by another key fail permanently naming the file; nothing is loaded', async () => {
  const csv = Buffer.from(usersCsv(ROWS));
  const tampered = partner.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt', '--compress-algo', 'none'], csv);
  tampered[tampered.length - 200] ^= 0x10;
  const cases = [
    { what: 'tampered', data: tampered, types: /^(PgpIntegrityFailed|PgpSignatureInvalid|PgpDecryptionFailed)$/ },
    { what: 'other signer', data: stranger.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt'], csv), types: /^PgpSignatureInvalid$/ },
  ];
  for (const k of cases) {
    const tenant = tenantId('pgpbad');
    const c = config(tenant);
    writeEncrypted(`${c.folder}/users_20250131.csv.gpg`, k.data);
    await withWorker(c, async (client) => {
      const job = await failedJob(client, c, tenant);
      assert.match(job.error_type ?? '', k.types, `${k.what}: ${job.error_type} ${job.error_message}`);
      assert.match(job.error_message ?? '', /users_20250131\.csv\.gpg/, `${k.what}: the message names the file`);
    });
    assert.equal(await users(c, tenant), 0, `${k.what}: nothing loaded`);
  }
});
