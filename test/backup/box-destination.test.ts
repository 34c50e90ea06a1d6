/**
 * The Box destination (Box's official TypeScript SDK) against a local stand-in of the Box
 * endpoints it calls. Not run against Box itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { BoxDestination, RetryAfterStrategy } from '../../src/backup/destinations/box';
import { backupDestinationSchema } from '../../src/backup/config';
import { startBoxStandIn, type BoxStandIn } from './box-standin';

let box: BoxStandIn;
before(async () => (box = await startBoxStandIn()));
after(() => box.close());

function destination(extra: Record<string, unknown> = {}): BoxDestination {
  const cfg = backupDestinationSchema.parse({ type: 'box', auth: 'ccg', client_id: 'standin-client', client_secret: 'standin-secret', enterprise_id: '42', base_url: box.url, upload_url: box.url, ...extra });
  return new BoxDestination(cfg);
}

const noop = { signal: new AbortController().signal, onProgress: () => undefined };
const sha = (algo: string, b: Buffer) => crypto.createHash(algo).update(b).digest('hex');

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

test('creates the folder path once and uploads a small file; list, read and remove', async () => {
  const d = destination();
  const data = Buffer.from('id,name\n1,Zoë\n');
  const r = await d.publish('GCP/bigquery/ds/t1/2025-01-08', 'part-00000.parquet', Readable.from([data]), { ...noop, size: data.length });
  assert.equal(r.sha256, sha('sha256', data));
  assert.equal(box.fileAt(['GCP', 'bigquery', 'ds', 't1', '2025-01-08', 'part-00000.parquet'])?.data.toString(), data.toString());
  await d.publish('GCP/bigquery/ds/t2/2025-01-08', 'x.parquet', Readable.from([data]), { ...noop, size: data.length });
  assert.equal(box.log.filter((l) => l === 'POST /2.0/folders').length, 7, box.log.join('\n')); // GCP, bigquery, ds, t1, date; then only t2 and its date
  const listing = await d.list('GCP/bigquery/ds/t1/2025-01-08');
  assert.deepEqual(listing.map((e) => [e.name, e.type, e.size, e.sha1]), [['part-00000.parquet', 'file', data.length, sha('sha1', data)]]);
  assert.deepEqual((await d.list('GCP/bigquery/ds')).map((e) => e.name).sort(), ['t1', 't2']);
  assert.deepEqual(await d.list('GCP/nothing/here'), []);
  assert.deepEqual(await readAll(await d.read('GCP/bigquery/ds/t1/2025-01-08', 'part-00000.parquet')), data);
  await d.removeFolder('GCP/bigquery/ds/t2');
  assert.deepEqual((await d.list('GCP/bigquery/ds')).map((e) => e.name), ['t1']);
});

test('a file over 50 MB goes through a chunked upload session with the SHA-1 digests Box requires', async () => {
  const d = destination();
  const size = 52 * 1024 * 1024 + 12_345;
  const data = crypto.randomBytes(size);
  const parts = box.checkedDigests.part;
  const simple = box.log.filter((l) => l === 'POST /api/2.0/files/content').length;
  const pieces = Array.from({ length: Math.ceil(size / (1 << 20)) }, (_, i) => data.subarray(i << 20, (i + 1) << 20));
  const r = await d.publish('big/2025-01-08', 'events.parquet', Readable.from(pieces), { ...noop, size });
  assert.equal(r.bytes, size);
  assert.equal(r.sha256, sha('sha256', data));
  const stored = box.fileAt(['big', '2025-01-08', 'events.parquet']);
  assert.ok(stored);
  assert.equal(stored.sha1, sha('sha1', data));
  assert.equal(box.checkedDigests.part - parts, Math.ceil(size / (8 * 1024 * 1024)));
  assert.equal(box.checkedDigests.commit, 1);
  assert.ok(box.log.includes('POST /api/2.0/files/upload_sessions'));
  assert.equal(box.log.filter((l) => l === 'POST /api/2.0/files/content').length, simple, 'no simple upload for the big file');
});

test('a 429 with Retry-After is retried after the time Box asks for', async () => {
  const strategy = new RetryAfterStrategy();
  const retryAfter = (headers: Record<string, string>) =>
    strategy.retryAfter({} as never, { status: 429, headers } as never, 1);
  assert.equal(retryAfter({ 'retry-after': '3' }), 3);
  assert.equal(retryAfter({ 'Retry-After': '2' }), 2);
  const d = destination();
  box.throttleOnce('POST', /^\/2\.0\/folders$/, 1);
  box.throttleOnce('POST', /^\/api\/2\.0\/files\/content$/, 1);
  const data = Buffer.from('after the rate limit');
  await d.publish('throttled/2025-01-08', 'f.parquet', Readable.from([data]), { ...noop, size: data.length });
  assert.deepEqual(box.throttled, ['POST /2.0/folders', 'POST /api/2.0/files/content']);
  assert.equal(box.fileAt(['throttled', '2025-01-08', 'f.parquet'])?.data.toString(), 'after the rate limit');
});

test('refused credentials fail clearly', async () => {
  const d = destination({ client_secret: 'wrong' });
  await assert.rejects(d.list('GCP'), (err: Error) => /400|invalid_client|bad client/i.test(err.message));
});
