// Issue 19 item 13: with encryption on, `bq-sftp run`'s progress decodes the transfer's heartbeat
// through the client's codec (not the default converter), and a decode failure is not swallowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { transferHeartbeat } from '../../src/cli/runs';
import { clientFor } from '../../src/cli/config-option';
import { encryptionCodecFor } from '../../src/codec/encryption';
import type { TransferProgress } from '../../src/export/transfer-files';
import { testConfig } from '../helpers/config';

const ring = (id: string) => `${id}:${crypto.randomBytes(32).toString('base64')}`;

/** A handle whose describe() shows a pending transferFiles with these heartbeat payloads (as the server returns them). */
function handleWith(client: Awaited<ReturnType<typeof clientFor>>, payloads: Payload[]): WorkflowHandle {
  return {
    client: client.workflow,
    describe: async () => ({ raw: { pendingActivities: [{ activityType: { name: 'transferFiles' }, heartbeatDetails: { payloads } }] } }),
  } as unknown as WorkflowHandle;
}

test('the progress bar reads an encrypted heartbeat through the configured codec; a wrong key is an error, not silence', async () => {
  const keys = ring('k1');
  const config = testConfig({ encryption: { keys, key_id: 'k1' } });
  const progress: TransferProgress = { done: { 'a.csv': 10 }, files_total: 3, bytes_total: 300, bytes_done: 110 };
  const encrypted = await encryptionCodecFor(config.encryption)!.encode([defaultPayloadConverter.toPayload(progress)!]);
  assert.notEqual(String(encrypted[0].metadata?.encoding), 'json/plain', 'the payload really is encrypted');

  const client = await clientFor(config);
  try {
    assert.deepEqual(await transferHeartbeat(handleWith(client, encrypted)), progress);
  } finally {
    await client.connection.close();
  }

  const other = await clientFor(testConfig({ encryption: { keys: ring('k2'), key_id: 'k2' } }));
  try {
    await assert.rejects(transferHeartbeat(handleWith(other, encrypted)), /k1|key/i);
  } finally {
    await other.connection.close();
  }
});

test('without encryption the heartbeat is read as before', async () => {
  const config = testConfig();
  const progress: TransferProgress = { done: {}, files_total: 1, bytes_total: 5, bytes_done: 0 };
  const client = await clientFor(config);
  try {
    assert.deepEqual(await transferHeartbeat(handleWith(client, [defaultPayloadConverter.toPayload(progress)!])), progress);
  } finally {
    await client.connection.close();
  }
});
