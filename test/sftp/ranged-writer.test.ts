/**
 * publishRanged (issue 20) against the stack's OpenSSH server: one file written in pieces over
 * several pooled connections arrives byte-identical under its final name with its mtime; a source
 * error, a short piece or an abort in any lane publishes nothing and leaves no temp file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { SftpPool, type SftpSession } from '../../src/sftp';
import { publishRanged } from '../../src/sftp/ranged-writer';
import { sha256 } from '../helpers/stack';
import { endpointFor, freshRemoteDir, listLocal, localPath, removeRemoteDir } from './helpers/endpoints';

const MIB = 1024 * 1024;
const kind = 'key + passphrase' as const;
const endpoint = endpointFor(kind, { maxConnections: 4 });
const pool = new SftpPool();
const dir = freshRemoteDir(kind, 'ranged');
const withSession = <T>(fn: (s: SftpSession) => Promise<T>) => pool.withSession(endpoint, fn);

/** The range of `data` in 64 KiB chunks, like an HTTP body. */
function rangeOf(data: Buffer, start: number, end: number): Readable {
  const part = data.subarray(start, end + 1);
  return Readable.from(Array.from({ length: Math.ceil(part.length / 65536) }, (_, i) => part.subarray(i * 65536, (i + 1) * 65536)));
}

after(async () => {
  await pool.closeAll();
  removeRemoteDir(kind, dir);
});

test('5 MiB + 13 bytes in 1 MiB pieces over 3 connections: identical bytes, final name only, mtime set, several connections used', async () => {
  const data = crypto.randomBytes(5 * MIB + 13);
  const mtime = new Date('2025-01-08T12:34:56Z');
  let progress = 0;
  const r = await publishRanged({
    size: data.length,
    openRange: (s, e) => rangeOf(data, s, e),
    withSession,
    dir,
    name: 'big.bin',
    lanes: 3,
    pieceSize: MIB,
    mtime,
    onProgress: (b) => (progress = b),
  });
  assert.equal(r.bytes, data.length);
  assert.equal(progress, data.length);
  assert.deepEqual(listLocal(kind, dir), ['big.bin']);
  const local = localPath(kind, `${dir}/big.bin`);
  assert.equal(sha256(fs.readFileSync(local)), sha256(data));
  assert.equal(Math.floor(fs.statSync(local).mtimeMs / 1000), mtime.getTime() / 1000);
  assert.ok(pool.stats().created >= 2, `connections opened: ${pool.stats().created}`);
});

test('a source error in one piece: rejects with it, nothing published, no temp file', async () => {
  const data = crypto.randomBytes(4 * MIB);
  const boom = new Error('range read failed');
  const err = await publishRanged({
    size: data.length,
    openRange: (s, e) => {
      if (s !== 2 * MIB) return rangeOf(data, s, e);
      const r = new Readable({ read() {} });
      r.push(data.subarray(s, s + 1000));
      setTimeout(() => r.destroy(boom), 50);
      return r;
    },
    withSession,
    dir,
    name: 'broken.bin',
    lanes: 2,
    pieceSize: MIB,
  }).catch((e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, /range read failed/);
  assert.deepEqual(listLocal(kind, dir).filter((n) => n.startsWith('broken')), []);
});

test('a piece that ends short: the sizeMismatch error, nothing published, no temp file', async () => {
  const data = crypto.randomBytes(3 * MIB);
  const err = await publishRanged({
    size: data.length,
    openRange: (s, e) => rangeOf(data, s, s === MIB ? e - 10 : e),
    withSession,
    dir,
    name: 'short.bin',
    lanes: 2,
    pieceSize: MIB,
    sizeMismatch: ({ start, bytes }) => new Error(`short piece at ${start}: ${bytes}`),
  }).catch((e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.equal(err.message, `short piece at ${MIB}: ${MIB - 10}`);
  assert.deepEqual(listLocal(kind, dir).filter((n) => n.startsWith('short')), []);
});

test('an abort while the lanes write: rejects with the reason, nothing published, no temp file', async () => {
  const data = crypto.randomBytes(4 * MIB);
  const ac = new AbortController();
  const err = await publishRanged({
    size: data.length,
    openRange: (s, e) => {
      if (s === MIB) setTimeout(() => ac.abort(new Error('stopped by the test')), 20);
      const r = rangeOf(data, s, e);
      return s >= MIB ? Readable.from((async function* () { for await (const c of r) { await new Promise((t) => setTimeout(t, 5)); yield c; } })()) : r;
    },
    withSession,
    dir,
    name: 'aborted.bin',
    lanes: 2,
    pieceSize: MIB,
    signal: ac.signal,
  }).catch((e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.equal(err.message, 'stopped by the test');
  assert.deepEqual(listLocal(kind, dir).filter((n) => n.startsWith('aborted')), []);
});
