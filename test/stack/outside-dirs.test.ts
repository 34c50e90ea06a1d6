import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { repoRoot, stackLayout } from '../../src/stack/layout';
import { canTraverse, OUTSIDE_ROOT, outsideDirs, outsidePrefix, placementFor } from '../../src/stack/outside-dirs';
import { isAlive } from '../../src/stack/processes';
import { freePort } from '../helpers/ports';

const NOBODY = { uid: 65534, gid: 65534 };

function stackCli(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/stack/cli.ts'), ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('a state dir under a 0700 folder is unreachable for another user: its folder goes outside the clone', () => {
  const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-0700-'));
  try {
    fs.chmodSync(closed, 0o700);
    const layout = stackLayout({ BQSFTP_STACK_DIR: path.join(closed, 'clone', '.stack') });
    const inside = path.join(layout.stateDir, 'postgres');

    assert.equal(canTraverse(inside, NOBODY), false);
    assert.deepEqual(placementFor(layout, 'postgres', NOBODY), {
      dir: path.join(OUTSIDE_ROOT, `${outsidePrefix(layout)}-postgres`),
      outside: true,
    });
    // the folder's owner, root, and a service running as ourselves all stay in the clone
    const me = { uid: process.getuid!(), gid: process.getgid!() };
    assert.equal(canTraverse(inside, me), true);
    assert.equal(canTraverse(inside, { uid: 0, gid: 0 }), true);
    assert.deepEqual(placementFor(layout, 'postgres', undefined), { dir: inside, outside: false });

    // the only thing wrong was the mode of that one folder
    fs.chmodSync(closed, 0o711);
    assert.equal(canTraverse(inside, NOBODY), true);
    assert.deepEqual(placementFor(layout, 'postgres', NOBODY), { dir: inside, outside: false });
  } finally {
    fs.rmSync(closed, { recursive: true, force: true });
  }
});

test("the stack's PostgreSQL starts from a state dir under a 0700 folder and works; down stops it, purge removes its data", async () => {
  const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-0700-'));
  fs.chmodSync(closed, 0o700);
  const stateDir = path.join(closed, 'clone', '.stack');
  const port = await freePort();
  const env = { BQSFTP_STACK_DIR: stateDir, BQSFTP_STACK_SERVICES: 'postgres', BQSFTP_POSTGRES_PORT: String(port) };
  const layout = stackLayout(env);
  const asRoot = process.getuid?.() === 0;
  try {
    const upRun = stackCli(['up'], env);
    assert.equal(upRun.code, 0, upRun.out);
    const pid = Number(fs.readFileSync(path.join(stateDir, 'pids', 'postgres.pid'), 'utf8'));
    assert.ok(isAlive(pid));

    const link = path.join(stateDir, 'postgres');
    const real = fs.realpathSync(link);
    if (asRoot) {
      // the server runs as `postgres`, which cannot enter `closed`: its data lives outside
      assert.ok(fs.lstatSync(link).isSymbolicLink(), `${link} should point outside the clone`);
      assert.equal(real, path.join(OUTSIDE_ROOT, `${outsidePrefix(layout)}-postgres`));
      assert.notEqual(fs.statSync(path.join(real, 'data')).uid, 0, 'the data folder belongs to the postgres user');
    } else {
      assert.ok(!fs.lstatSync(link).isSymbolicLink(), 'as ourselves the server needs no folder outside');
    }

    const client = new Client({ host: '127.0.0.1', port, user: 'bqsftp', database: 'bqsftp' });
    await client.connect();
    try {
      const { rows: dd } = await client.query<{ data_directory: string }>('SHOW data_directory');
      assert.equal(dd[0].data_directory, path.join(real, 'data'));
      await client.query('CREATE TABLE t (id int PRIMARY KEY, name text)');
      await client.query('INSERT INTO t VALUES ($1, $2), ($3, $4)', [1, 'a', 2, 'b']);
      const { rows } = await client.query('SELECT id, name FROM t ORDER BY id');
      assert.deepEqual(rows, [{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    } finally {
      await client.end();
    }

    const downRun = stackCli(['down'], env);
    assert.equal(downRun.code, 0, downRun.out);
    assert.match(downRun.out, /Stopped: postgres/);
    assert.equal(isAlive(pid), false, 'the started server is gone');

    const purge = stackCli(['purge'], env);
    assert.equal(purge.code, 0, purge.out);
    assert.deepEqual(outsideDirs(layout), [], 'purge removes the folders outside the clone too');
  } finally {
    stackCli(['down'], env);
    for (const dir of outsideDirs(layout)) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(closed, { recursive: true, force: true });
  }
});
