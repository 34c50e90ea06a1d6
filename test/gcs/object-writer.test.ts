import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { objectWriterFor } from '../../src/gcs/object-writer';
import { GcsHttpError } from '../../src/gcs/ranged-reader';
import { stack, uniqueId } from '../helpers/stack';
import { gcsBytes, storage } from '../helpers/export';

// against the stack's fake-gcs-server
test('objectWriterFor stores the bytes as they are, with the content type, under a name with slashes and spaces', async () => {
  const bucket = stack().gcs.bucket;
  const name = `object-writer/${uniqueId('w')}/a part #1 é.jsonl`;
  const body = Buffer.concat([randomBytes(3 * 1024 * 1024 + 17), Buffer.from('{"line":"\\u00e9"}\n')]);
  await objectWriterFor(storage())(bucket, name, body, 'application/x-ndjson');
  assert.deepEqual(await gcsBytes(name), body);
  const [meta] = await storage().bucket(bucket).file(name).getMetadata();
  assert.equal(meta.contentType, 'application/x-ndjson');
  assert.equal(Number(meta.size), body.length);
  // a second write replaces it
  await objectWriterFor(storage())(bucket, name, Buffer.from('x\n'), 'application/x-ndjson');
  assert.deepEqual(await gcsBytes(name), Buffer.from('x\n'));
});

test('objectWriterFor: a bucket that does not exist is an error naming the object and the HTTP status', async () => {
  const err = await objectWriterFor(storage())('no-such-bucket-' + uniqueId('b').toLowerCase(), 'x/y.jsonl', Buffer.from('a\n'), 'text/plain').catch((e: unknown) => e);
  assert.ok(err instanceof GcsHttpError, String(err));
  assert.equal(err.code, 404);
  assert.match(err.message, /gs:\/\/no-such-bucket-[^/]+\/x\/y\.jsonl got HTTP 404/);
});
