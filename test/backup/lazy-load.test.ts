/**
 * The backup family's heavy libraries load on first use, not with the worker: the Parquet writer
 * (hyparquet-writer) when a table is converted, Box's SDK when a Box destination is opened. The
 * activities module graph a worker loads is required in a child process that lists what it loaded.
 * Behaviour, not memory figures; no stack needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';

const HEAVY = ['hyparquet-writer', 'box-typescript-sdk-gen'];

/** Runs `code` (CommonJS, tsx) in a fresh node and returns which HEAVY packages it had loaded at the end. */
function loadedAfter(code: string): string[] {
  const script = `${code}
const files = Object.keys(require.cache);
process.stdout.write(JSON.stringify(${JSON.stringify(HEAVY)}.filter((p) => files.some((f) => f.includes('/node_modules/' + p + '/')))));`;
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
}

const src = (p: string) => JSON.stringify(path.join(repoRoot, 'src', p));

test("a worker's activities load neither the Parquet writer nor Box's SDK", () => {
  assert.deepEqual(loadedAfter(`require(${src('activities/index.ts')}); require(${src('backup/destinations/index.ts')});`), []);
});

test('opening a Box destination loads Box\'s SDK; the Parquet module loads the writer (the check sees them)', () => {
  const box = `const { openDestination } = require(${src('backup/destinations/index.ts')});
openDestination({ config: {} }, 'b', { destination: { type: 'box', folder_id: '0', auth: 'ccg', client_id: 'id', client_secret: 's', enterprise_id: '1' } });`;
  assert.deepEqual(loadedAfter(box), ['box-typescript-sdk-gen']);
  assert.deepEqual(loadedAfter(`require(${src('backup/parquet.ts')});`), ['hyparquet-writer']);
});
