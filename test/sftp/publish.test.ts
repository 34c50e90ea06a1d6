/**
 * publishStream against the stack's OpenSSH server: bytes identical around chunk boundaries,
 * atomic publish (temp name + rename, or in place), cleanup on errors and abort, GCS → SFTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { Client, type SFTPWrapper } from 'ssh2';
import { connectSftp, DEFAULT_CHUNK_SIZE, writeStreamToHandle, type SftpSession } from '../../src/sftp';
import { createStorage } from '../../src/gcs/client';
import { sha256, stack, uniqueId } from '../helpers/stack';
import { endpointFor, freshRemoteDir, listLocal, localPath, removeRemoteDir, USER_KINDS, type UserKind } from './helpers/endpoints';

const info = stack();
const CHUNK = DEFAULT_CHUNK_SIZE;

/** Splits data into pieces of the given sizes (cycled). */
function piecesOf(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(data.subarray(off, off + n));
    off += n;
  }
  return out;
}

/** A source the test feeds by hand (whole chunks are written at once; a partial chunk waits for more). */
function handFed() {
  const stream = new Readable({ read() {} });
  return { stream, push: (b: Buffer) => stream.push(b), end: () => stream.push(null) };
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of USER_KINDS) {
  void describe(`publishStream as the ${kind} user`, () => {
    let s: SftpSession;
    const dir = freshRemoteDir(kind);
    before(async () => {
      s = await connectSftp(endpointFor(kind));
    });
    after(async () => {
      await s.close();
      removeRemoteDir(kind, dir);
    });

    const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * 1024 * 1024 + 7];
    for (const size of sizes) {
      test(`${size} bytes arrive identical (64 KiB source chunks and odd-sized ones)`, async () => {
        const data = crypto.randomBytes(size);
        for (const [label, pieceSizes] of [['64k', [65536]], ['odd', [1, 4093, 17, 32769, 100_003, 7]]] as const) {
          const name = `f-${size}-${label}.bin`;
          const hashes = ['md5', 'sha256'] as const;
          const r = await s.publishStream(Readable.from(piecesOf(data, [...pieceSizes])), dir, name, { hash: [...hashes] });
          assert.equal(r.bytes, size);
          assert.equal(r.remotePath, `${dir}/${name}`);
          const local = fs.readFileSync(localPath(kind, `${dir}/${name}`));
          assert.equal(sha256(local), sha256(data), `${name} differs`);
          assert.equal(r.hashes.sha256, sha256(data));
          assert.equal(r.hashes.md5, crypto.createHash('md5').update(data).digest('hex'));
        }
        assert.ok(!listLocal(kind, dir).some((n) => n.endsWith('.partial')));
      });
    }

    test('few writes in flight and tiny chunks still give identical bytes', async () => {
      const data = crypto.randomBytes(200_000);
      await s.publishStream(Readable.from(piecesOf(data, [999])), dir, 'tiny.bin', { chunkSize: 1000, concurrency: 1 });
      assert.ok(fs.readFileSync(localPath(kind, `${dir}/tiny.bin`)).equals(data));
      await s.publishStream(Readable.from([data]), dir, 'wide.bin', { chunkSize: 255 * 1024, concurrency: 3 });
      assert.ok(fs.readFileSync(localPath(kind, `${dir}/wide.bin`)).equals(data));
    });

    test('a reader never sees half a file: only <name>.partial exists until the rename; the old version stays until then', async () => {
      fs.writeFileSync(localPath(kind, `${dir}/atomic.csv`), 'old complete version\n');
      const src = handFed();
      let acked = 0;
      const done = s.publishStream(src.stream, dir, 'atomic.csv', { onProgress: (b) => (acked = b) });
      src.push(Buffer.alloc(3 * CHUNK, 'a'));
      await until('the first bytes to be written', () => acked === 3 * CHUNK);
      assert.ok(listLocal(kind, dir).includes('atomic.csv.partial'));
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/atomic.csv`), 'utf8'), 'old complete version\n');
      src.push(Buffer.alloc(50, 'b'));
      src.end();
      await done;
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/atomic.csv`)).length, 3 * CHUNK + 50);
      assert.ok(!listLocal(kind, dir).includes('atomic.csv.partial'));
    });

    test('a custom temp suffix is used', async () => {
      const src = handFed();
      let acked = 0;
      const done = s.publishStream(src.stream, dir, 'suffix.csv', { tempSuffix: '.tmp~', onProgress: (b) => (acked = b) });
      src.push(Buffer.alloc(CHUNK));
      await until('a chunk to be written', () => acked === CHUNK);
      assert.ok(listLocal(kind, dir).includes('suffix.csv.tmp~'));
      src.end();
      await done;
      assert.ok(listLocal(kind, dir).includes('suffix.csv') && !listLocal(kind, dir).includes('suffix.csv.tmp~'));
    });

    test('in_place mode writes the final name directly', async () => {
      const src = handFed();
      let acked = 0;
      const done = s.publishStream(src.stream, dir, 'inplace.csv', { mode: 'in_place', onProgress: (b) => (acked = b) });
      src.push(Buffer.alloc(CHUNK, 'a'));
      await until('bytes to be written', () => acked === CHUNK);
      assert.ok(listLocal(kind, dir).includes('inplace.csv'));
      assert.ok(!listLocal(kind, dir).some((n) => n.startsWith('inplace.csv.')));
      src.push(Buffer.from('bc'));
      src.end();
      assert.equal((await done).bytes, CHUNK + 2);
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/inplace.csv`), 'utf8'), `${'a'.repeat(CHUNK)}bc`);
    });

    test('a source that errors midway leaves neither the temp file nor a final file', async () => {
      const src = handFed();
      let acked = 0;
      const done = s.publishStream(src.stream, dir, 'broken.csv', { onProgress: (b) => (acked = b) });
      src.push(crypto.randomBytes(9 * CHUNK));
      await until('bytes to be written', () => acked === 9 * CHUNK);
      src.stream.destroy(new Error('the GCS download broke'));
      await assert.rejects(done, /the GCS download broke/);
      assert.deepEqual(listLocal(kind, dir).filter((n) => n.startsWith('broken.csv')), []);
    });

    test('the folder removed on the server mid-file: rejected, nothing left behind', async () => {
      const sub = `${dir}/vanishing`;
      await s.mkdirp(sub);
      const src = handFed();
      let acked = 0;
      const done = s.publishStream(src.stream, sub, 'data.csv', { onProgress: (b) => (acked = b) });
      src.push(crypto.randomBytes(6 * CHUNK));
      await until('bytes to be written', () => acked === 6 * CHUNK);
      fs.rmSync(localPath(kind, sub), { recursive: true });
      src.push(crypto.randomBytes(200_000));
      src.end();
      await assert.rejects(done, (err: Error & { type?: string }) => err.type === 'SftpNoSuchFile');
      assert.ok(!fs.existsSync(localPath(kind, sub)));
    });

    test('the temp file deleted by someone mid-file: rejected, and the previous version is untouched', async () => {
      fs.writeFileSync(localPath(kind, `${dir}/keep.csv`), 'previous\n');
      const src = handFed();
      let acked = 0;
      const done = s.publishStream(src.stream, dir, 'keep.csv', { onProgress: (b) => (acked = b) });
      src.push(Buffer.alloc(CHUNK));
      await until('bytes to be written', () => acked === CHUNK);
      fs.rmSync(localPath(kind, `${dir}/keep.csv.partial`));
      src.end();
      await assert.rejects(done, (err: Error & { type?: string }) => err.type === 'SftpNoSuchFile');
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/keep.csv`), 'utf8'), 'previous\n');
    });

    test('abort mid-file removes the temp file and rejects with the signal reason', async () => {
      const src = handFed();
      const ac = new AbortController();
      let acked = 0;
      const done = s.publishStream(src.stream, dir, 'aborted.csv', { signal: ac.signal, onProgress: (b) => (acked = b) });
      src.push(crypto.randomBytes(15 * CHUNK));
      await until('bytes to be written', () => acked === 15 * CHUNK);
      assert.ok(listLocal(kind, dir).includes('aborted.csv.partial'));
      const reason = new Error('activity cancelled');
      ac.abort(reason);
      await assert.rejects(done, (err) => err === reason);
      assert.ok(src.stream.destroyed, 'the source was not destroyed');
      assert.deepEqual(listLocal(kind, dir).filter((n) => n.startsWith('aborted.csv')), []);
    });

    test('a verify hook that throws publishes nothing', async () => {
      fs.writeFileSync(localPath(kind, `${dir}/checked.csv`), 'v1');
      await assert.rejects(
        s.publishStream(Readable.from([Buffer.from('v2 but short')]), dir, 'checked.csv', {
          verify: ({ bytes }) => {
            if (bytes !== 1000) throw new Error(`size ${bytes} is not 1000`);
          },
        }),
        /size 12 is not 1000/,
      );
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/checked.csv`), 'utf8'), 'v1');
      assert.ok(!listLocal(kind, dir).includes('checked.csv.partial'));
    });

    test('unsafe names are refused before anything is opened', async () => {
      for (const name of ['../escape.csv', '/abs.csv', 'a/b.csv', 'nul\u0000.csv', '..']) {
        const src = Readable.from([Buffer.from('x')]);
        await assert.rejects(s.publishStream(src, dir, name), (err: Error & { type?: string }) => err.type === 'SftpUnsafePath', name);
        assert.ok(src.destroyed);
      }
      await assert.rejects(s.publishStream(Readable.from([]), dir, 'ok.csv', { tempSuffix: '/../../x' }), (err: Error & { type?: string }) => err.type === 'SftpUnsafePath');
      assert.ok(!fs.existsSync(localPath(kind, '/escape.csv')) && !fs.existsSync(localPath(kind, '/upload/escape.csv')));
    });
  });
}

void describe('publishStream on a server without posix-rename', () => {
  test('falls back to remove + rename over an existing file', async () => {
    const kind: UserKind = 'password';
    const dir = freshRemoteDir(kind);
    const s = await connectSftp(endpointFor(kind), { disabledExtensions: ['posix-rename@openssh.com'] });
    try {
      assert.equal(s.hasPosixRename, false);
      fs.writeFileSync(localPath(kind, `${dir}/f.csv`), 'old');
      await s.publishStream(Readable.from([Buffer.from('new and longer')]), dir, 'f.csv');
      assert.equal(fs.readFileSync(localPath(kind, `${dir}/f.csv`), 'utf8'), 'new and longer');
      await s.publishStream(Readable.from([Buffer.from('fresh')]), dir, 'g.csv');
      assert.deepEqual(listLocal(kind, dir), ['f.csv', 'g.csv']);
    } finally {
      await s.close();
      removeRemoteDir(kind, dir);
    }
  });
});

void describe('pipelined writer against a real server error', () => {
  test('WRITEs past the file-size limit fail mid-stream; the writer rejects after the writes in flight settle', async () => {
    const kind: UserKind = 'password';
    const dir = freshRemoteDir(kind);
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: info.sftp.host, port: info.sftp.port, username: info.sftp.passwordUser.username, password: info.sftp.passwordUser.password });
    });
    try {
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
      const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(`${dir}/huge.bin`, 'w', (err, h) => (err ? reject(err) : resolve(h))));
      // ext4 stops files at 16 TiB: the first writes below the limit succeed (sparse), later ones fail
      const limit = 16 * 1024 ** 4;
      let acked = 0;
      const source = Readable.from(piecesOf(crypto.randomBytes(4 * 1024 * 1024), [65536]));
      await assert.rejects(
        writeStreamToHandle(sftp, handle, source, { startOffset: limit - 10 * CHUNK, onProgress: (b) => (acked = b) }),
        (err: Error & { code?: number }) => typeof err.code === 'number' && err.code !== 0,
      );
      assert.ok(acked > 0 && acked <= 10 * CHUNK, `acknowledged ${acked} bytes`);
      assert.ok(source.destroyed, 'the source was not destroyed');
      await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
    } finally {
      client.end();
      removeRemoteDir(kind, dir);
    }
  });
});

void describe('GCS → SFTP', () => {
  test('an object streamed from the emulator arrives byte for byte, md5 equal to GCS', async () => {
    const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
    const objectName = `sftp-tests/${uniqueId('obj')}.bin`;
    const file = storage.bucket(info.gcs.bucket).file(objectName);
    const data = crypto.randomBytes(5 * 1024 * 1024 + 7);
    await file.save(data, { resumable: false });
    const kind: UserKind = 'key + passphrase';
    const dir = freshRemoteDir(kind);
    const s = await connectSftp(endpointFor(kind));
    try {
      const [meta] = await file.getMetadata();
      const r = await s.publishStream(file.createReadStream(), dir, 'from-gcs.bin', { hash: ['md5'] });
      assert.equal(r.bytes, data.length);
      assert.equal(sha256(fs.readFileSync(localPath(kind, `${dir}/from-gcs.bin`))), sha256(data));
      assert.equal(r.hashes.md5, Buffer.from(meta.md5Hash!, 'base64').toString('hex'));
    } finally {
      await s.close();
      await file.delete({ ignoreNotFound: true });
      removeRemoteDir(kind, dir);
    }
  });
});
