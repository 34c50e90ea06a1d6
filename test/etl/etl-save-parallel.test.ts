/**
 * `etlSave` publishes the run's three files side by side; when one fails, the activity fails only
 * after the others have settled, so a retry never meets a publish of the failed attempt still
 * writing the same `.partial`. SFTP is a stand-in pool at the seam (the staged objects are real,
 * in the stack's GCS); the real publish is covered by the ETL workflow tests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { after, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEtlSave, type SaveProgress } from '../../src/etl/save';
import { stagedObjects } from '../../src/etl/common';
import type { SftpPool } from '../../src/sftp';
import { storage } from '../helpers/export';
import { etlConfig, tmpDir, uniqueId } from './helpers';

const dir = tmpDir('etl-save-parallel');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it('one file failing to publish fails the save only after the other two have finished', async () => {
  const name = uniqueId('par').replace(/-/g, '_');
  const config = etlConfig({ name, url: 'http://127.0.0.1:9', dir });
  const stamp = '20250106_030000';
  const objects = stagedObjects(name, config.etl.pipelines[name], stamp);
  const bucket = storage().bucket(config.gcs.bucket);
  for (const k of ['raw', 'processed', 'dlq'] as const) await bucket.file(objects[k]).save(Buffer.from(`{"id":1,"k":"${k}"}\n`));

  const events: string[] = [];
  const session = {
    mkdirp: async () => undefined,
    publishStream: async (source: Readable, _dir: string, file: string) => {
      for await (const chunk of source) void chunk; // read it, as a real publish does
      if (file.startsWith('records_')) {
        events.push('raw failed');
        throw new Error('injected: raw could not be written');
      }
      await new Promise((r) => setTimeout(r, file.startsWith('etl_') ? 400 : 200));
      events.push(`${file.slice(0, file.indexOf('_'))} published`);
      return { bytes: 1, hashes: { sha256: 'x' } };
    },
  };
  const pool = { withSession: (_ep: unknown, fn: (s: unknown) => Promise<unknown>) => fn(session) } as unknown as SftpPool;
  // the rows are in (an earlier attempt): only the files are published
  const env = new MockActivityEnvironment({ heartbeatDetails: { rows: { raw: 1, processed: 1, dlq: 1 }, published: [] } satisfies SaveProgress });
  await assert.rejects(env.run(createEtlSave({ config, storage: storage(), sftpPool: pool }), { pipeline: name, stamp }), /raw could not be written/);
  events.push('save failed');
  assert.deepEqual(events, ['raw failed', 'invalid published', 'etl published', 'save failed']);
});
