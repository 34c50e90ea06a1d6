import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ApplicationFailure } from '@temporalio/common';
import { toApplicationFailure } from '../../src/activities/failures';
import { SftpError } from '../../src/sftp';

const map = async (err: unknown, service: string): Promise<ApplicationFailure> => new MockActivityEnvironment({ attempt: 3 }).run(async () => toApplicationFailure(err, service) as ApplicationFailure);

test('a refused connection from the Google clients (FetchError, type "system") becomes ServiceUnavailable naming the service', async () => {
  const fetchError = Object.assign(new Error('request to http://127.0.0.1:1/bigquery/v2/projects/p/jobs failed, reason: connect ECONNREFUSED'), {
    type: 'system',
    code: 'ECONNREFUSED',
  });
  const f = await map(fetchError, 'BigQuery');
  assert.equal(f.type, 'ServiceUnavailable');
  assert.match(f.message, /^BigQuery is unreachable \(ECONNREFUSED\)/);
  assert.equal(f.nonRetryable, false);
  assert.deepEqual(f.details, [{ attempt: 3, service: 'BigQuery' }]);
});

test('our typed errors keep their type and retryability; anything else names the service', async () => {
  const auth = await map(new SftpError('SftpAuthFailed', 'denied'), 'SFTP');
  assert.equal(auth.type, 'SftpAuthFailed');
  assert.equal(auth.nonRetryable, true);
  const lost = await map(new SftpError('SftpConnectionLost', 'gone'), 'SFTP');
  assert.equal(lost.nonRetryable, false);
  const other = await map(new Error('boom'), 'Cloud Storage');
  assert.equal(other.type, 'Error');
  assert.equal(other.message, 'Cloud Storage: boom');
});
