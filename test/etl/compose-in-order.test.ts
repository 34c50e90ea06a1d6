/**
 * `composeInOrder` (the staged files from their parts): the bytes in order and the JSONL content
 * type, on the stack's GCS, for one level of compose and for more than 32 parts (through temporary
 * objects, which are gone afterwards). The content type goes in the compose request itself: a
 * metadata patch afterwards makes fake-gcs-server rewrite the whole object (seen at the seam).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Storage } from '@google-cloud/storage';
import { composeInOrder } from '../../src/etl/extract';
import { stack } from '../helpers/stack';
import { storage } from '../helpers/export';
import { uniqueId } from './helpers';

describe('composeInOrder on the stack', () => {
  const bucketName = stack().gcs.bucket;
  const bucket = storage().bucket(bucketName);

  for (const n of [2, 33]) {
    it(`${n} parts: their bytes in order, as JSONL, and no temporary object left`, async () => {
      const dir = `test-compose/${uniqueId('c')}/`;
      const parts = Array.from({ length: n }, (_, i) => `${dir}parts/${String(i).padStart(4, '0')}.jsonl`);
      const bodies = parts.map((_, i) => `{"id":${i},"text":"part ${i} ü"}\n`);
      // stored with another content type, so the composed file's cannot come from its parts
      await Promise.all(parts.map((p, i) => bucket.file(p).save(bodies[i], { resumable: false, contentType: 'text/plain' })));
      const dest = `${dir}all.jsonl`;
      await composeInOrder(storage(), bucketName, parts, dest, `${dir}parts/`);

      const [bytes] = await bucket.file(dest).download();
      assert.equal(bytes.toString('utf8'), bodies.join(''));
      const [meta] = await bucket.file(dest).getMetadata();
      assert.equal(meta.contentType, 'application/x-ndjson');
      const [left] = await bucket.getFiles({ prefix: `${dir}parts/compose-` });
      assert.deepEqual(left.map((f) => f.name), []);
      await Promise.all([dest, ...parts].map((p) => bucket.file(p).delete({ ignoreNotFound: true })));
    });
  }
});

describe('composeInOrder at the seam', () => {
  it('sends the content type with the compose and does not patch the object afterwards', async () => {
    const calls: string[] = [];
    const file = (name: string) => ({
      name,
      metadata: {} as Record<string, unknown>,
      setMetadata: async (m: Record<string, unknown>) => void calls.push(`setMetadata ${name} ${JSON.stringify(m)}`),
      delete: async () => void calls.push(`delete ${name}`),
    });
    const fake = {
      bucket: () => ({
        file,
        combine: async (sources: string[], dest: ReturnType<typeof file>) => void calls.push(`combine ${sources.length} → ${dest.name} as ${String(dest.metadata.contentType)}`),
      }),
    } as unknown as Storage;
    await composeInOrder(fake, 'b', ['p/1', 'p/2', 'p/3'], 'all.jsonl', 'p/');
    assert.deepEqual(calls, ['combine 3 → all.jsonl as application/x-ndjson']);
  });
});
