import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sftpEndpointFor } from '../../src/activities/sftp-endpoint';
import { moveWithoutReplace } from '../../src/inbox/sftp-ops';
import { startInboxReceiver, type InboxReceiver } from '../../src/inbox/receiver';
import { SftpPool } from '../../src/sftp';
import { localSftpPath, withWorker } from '../helpers/export';
import { freePort } from '../helpers/ports';
import { dropFiles, inboxTestConfig, listDisk, mkdirOwned, pdf, poll, SECRET } from './helpers';

test('the claim rename never replaces and exactly one of two racing claimers wins each file (two connections, 20 files)', async () => {
  const { config, base } = inboxTestConfig('http://127.0.0.1:9/unused');
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 20; i++) files[`race-${i}.pdf`] = pdf(i);
  dropFiles(`${base}/input`, files);
  mkdirOwned(`${base}/a`);
  mkdirOwned(`${base}/b`);
  dropFiles(`${base}/a`, { 'taken.pdf': 'already here' });
  dropFiles(`${base}/input`, { 'taken.pdf': pdf(99) });
  const pools = [new SftpPool({ maxPerEndpoint: 1 }), new SftpPool({ maxPerEndpoint: 1 })];
  const ep = sftpEndpointFor(config);
  try {
    const wins = await Promise.all(
      ['a', 'b'].map((side, k) =>
        pools[k].withSession(ep, async (s) => {
          const won: string[] = [];
          await Promise.all(
            Object.keys(files).map(async (n) => {
              const r = await moveWithoutReplace(s, `${base}/input/${n}`, `${base}/${side}`, n, new Set());
              if (r.ok) won.push(n);
            }),
          );
          return won;
        }),
      ),
    );
    assert.equal(wins[0].length + wins[1].length, 20, 'every file claimed once');
    assert.deepEqual(wins[0].filter((n) => wins[1].includes(n)), [], 'no file claimed twice');
    assert.deepEqual(listDisk(`${base}/input`), ['taken.pdf']);

    // a name already taken in the target gets a suffix; the file there is untouched
    const r = await pools[0].withSession(ep, (s) => moveWithoutReplace(s, `${base}/input/taken.pdf`, `${base}/a`, 'taken.pdf', new Set()));
    assert.deepEqual(r, { ok: true, path: `${base}/a/taken_1.pdf` });
    assert.equal(fs.readFileSync(localSftpPath(`${base}/a/taken.pdf`), 'utf8'), 'already here');
  } finally {
    await Promise.all(pools.map((p) => p.closeAll()));
  }
});

test('the API unreachable (connection refused) for a while: the batch is retried with backoff and submitted once it is back', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v1/documents/batches`;
  const { config, name, base } = inboxTestConfig(url, { api: { retry_initial_ms: 500, retry_max_ms: 1000, max_attempts: 20 } });
  dropFiles(`${base}/input`, { 'late.pdf': pdf(1) });
  let receiver: InboxReceiver | undefined;
  try {
    const result = await withWorker(config, async (client) => {
      const polled = poll(client, config, name);
      await new Promise((r) => setTimeout(r, 3000));
      receiver = await startInboxReceiver({ secret: SECRET, port });
      return polled;
    });
    assert.deepEqual(result.batches.map((b) => b.status), ['submitted']);
    assert.equal(receiver!.accepted().length, 1);
    assert.deepEqual(receiver!.requests.map((r) => r.files[0].filename), ['late.pdf']);
  } finally {
    await receiver?.close();
  }
});
