import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot, stackLayout } from '../../src/stack/layout';
import type { StackInfo } from '../../src/stack/stack-info';
import { filesNeedingStack, requireStack, StackDownError, stackInfoOrThrow } from '../../src/stack/stack-check';
import { freePort } from '../helpers/ports';

/** A stack.json like `stack up` writes, with every service on its own (free) loopback port. */
async function fakeStackDir(): Promise<{ dir: string; info: StackInfo }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-stackdown-'));
  const [temporal, gcs, bigquery, sftp, postgres] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const info = {
    temporal: { address: `127.0.0.1:${temporal}`, namespace: 'default', uiUrl: 'http://127.0.0.1:1' },
    gcs: { endpoint: `http://127.0.0.1:${gcs}`, projectId: 'p', bucket: 'b' },
    bigquery: { endpoint: `http://127.0.0.1:${bigquery}`, projectId: 'p', dataset: 'd' },
    sftp: {
      host: '127.0.0.1',
      port: sftp,
      hostKeyFingerprint: 'SHA256:x',
      knownHostsLine: 'x',
      passwordUser: { username: 'u', password: 'p', directory: '/upload', localRoot: dir },
      keyUser: { username: 'k', privateKeyPath: path.join(dir, 'key'), passphrase: 'p', directory: '/upload', localRoot: dir },
    },
    postgres: { host: '127.0.0.1', port: postgres, user: 'bqsftp', database: 'bqsftp', socketDir: dir },
    demoConfigPath: path.join(dir, 'demo-config.json'),
  } satisfies StackInfo;
  fs.writeFileSync(path.join(dir, 'stack.json'), JSON.stringify(info));
  return { dir, info };
}

async function listen(port: number): Promise<net.Server> {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return srv;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  // NODE_TEST_CONTEXT would make a nested `node --test` report to this runner instead of stdout
  const { NODE_TEST_CONTEXT: _, ...parent } = process.env;
  const r = spawnSync(command, args, { cwd: repoRoot, env: { ...parent, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const START = /start it with `BQSFTP_STACK_DIR=\S+ npm run stack -- up`$/;

test('no stack.json: one line saying the stack is not set up and how to start it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-stackdown-'));
  try {
    const layout = stackLayout({ BQSFTP_STACK_DIR: dir });
    assert.throws(() => stackInfoOrThrow(layout), (err: Error) => {
      assert.ok(err instanceof StackDownError);
      assert.match(err.message, /^the local stack is not set up \(no .*stack\.json\): /);
      assert.match(err.message, START);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('requireStack: all down, partly down (naming the service), all up', async () => {
  const { dir, info } = await fakeStackDir();
  const layout = stackLayout({ BQSFTP_STACK_DIR: dir });
  const servers: net.Server[] = [];
  try {
    await assert.rejects(requireStack(layout), (err: Error) => {
      assert.ok(err instanceof StackDownError);
      assert.match(err.message, /^the local stack is down \(nothing answers on 127\.0\.0\.1:\d+, /);
      assert.match(err.message, START);
      assert.ok(!err.message.includes('\n'));
      return true;
    });

    for (const port of [info.temporal.address.split(':')[1], new URL(info.bigquery.endpoint).port, info.sftp.port, info.postgres.port]) {
      servers.push(await listen(Number(port)));
    }
    await assert.rejects(requireStack(layout), (err: Error) => {
      assert.equal(err.message.split(': start it')[0], `the local stack is partly down (Cloud Storage on 127.0.0.1:${new URL(info.gcs.endpoint).port})`);
      return true;
    });

    servers.push(await listen(Number(new URL(info.gcs.endpoint).port)));
    assert.deepEqual(await requireStack(layout), info);
  } finally {
    for (const s of servers) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('filesNeedingStack follows relative imports within test/ to a stack() call', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-needs-'));
  try {
    fs.mkdirSync(path.join(root, 'helpers'));
    // like test/helpers/stack.ts (the call is split so this file itself does not look like a user)
    fs.writeFileSync(path.join(root, 'helpers', 'stack.ts'), ['let cached;', 'export function stack() {', `  return (cached ??= read${'StackInfo'}());`, '}', ''].join('\n'));
    fs.writeFileSync(path.join(root, 'helpers', 'uses.ts'), "import { stack } from './stack';\nexport const info = () => stack();\n");
    fs.writeFileSync(path.join(root, 'a.test.ts'), "import { info } from './helpers/uses';\ninfo;\n");
    fs.writeFileSync(path.join(root, 'b.test.ts'), "import { stack } from './helpers/stack';\nvoid stack;\n");
    fs.writeFileSync(path.join(root, 'c.test.ts'), "import fs from 'node:fs';\nvoid fs;\n");
    const files = ['a.test.ts', 'b.test.ts', 'c.test.ts'].map((f) => path.join(root, f));
    // b imports the helper but never calls it; helpers/stack.ts itself defines, not calls, stack()
    assert.deepEqual(filesNeedingStack(files, root), [files[0]]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('bench, the demo, run-tests.sh and `stack status` each say in one line that the stack is down', async () => {
  const { dir } = await fakeStackDir();
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-stackdown-'));
  try {
    const tsx = (file: string, args: string[], stackDir: string) =>
      run(process.execPath, ['--import', 'tsx', path.join(repoRoot, file), ...args], { BQSFTP_STACK_DIR: stackDir });

    for (const [stackDir, what] of [[empty, 'not set up'], [dir, 'down']] as const) {
      const bench = tsx('bench/run.ts', ['--only', 'P4'], stackDir);
      assert.equal(bench.code, 1, bench.stderr);
      assert.equal(bench.stdout, '');
      assert.match(bench.stderr, new RegExp(`^bench: the local stack is ${what} \\(.*\\): start it with \`BQSFTP_STACK_DIR=\\S+ npm run stack -- up\`\\n$`));

      const demo = tsx('scripts/demo.ts', ['export'], stackDir);
      assert.equal(demo.code, 1, demo.stderr);
      assert.match(demo.stderr, new RegExp(`^demo: the local stack is ${what} \\(.*\\): start it with .*\\n$`));

      const tests = run('bash', ['scripts/run-tests.sh', 'test/stack/postgres.test.ts'], { BQSFTP_STACK_DIR: stackDir });
      assert.equal(tests.code, 1, tests.stderr);
      assert.equal(tests.stdout, '', 'no test ran');
      assert.match(tests.stderr, new RegExp(`^test: the local stack is ${what} \\(.*\\): start it with .*\\n$`));
    }

    const status = tsx('src/stack/cli.ts', ['status'], empty);
    assert.equal(status.code, 1);
    assert.equal(status.stdout.trim().split('\n').at(-1), 'The local stack is down: start it with `npm run stack -- up`.');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('run-tests.sh runs files that need no stack without one', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-stackdown-'));
  try {
    const r = run('bash', ['scripts/run-tests.sh', 'test/unit/failures.test.ts'], { BQSFTP_STACK_DIR: empty });
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /ℹ fail 0/);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('`npm run demo -- nosuch` is refused with exit 2 and the known families, before any set-up', () => {
  const families = fs
    .readdirSync(path.join(repoRoot, 'scripts', 'demos'))
    .filter((f) => f.endsWith('.ts') && /\bexport\s+async\s+function\s+run\b/.test(fs.readFileSync(path.join(repoRoot, 'scripts', 'demos', f), 'utf8')))
    .map((f) => f.slice(0, -3))
    .sort();
  assert.ok(families.includes('export'));
  const line = `demo: unknown family "nosuch"; known: ${families.join(', ')}\n`;

  const viaTsx = run(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', 'nosuch'], {});
  assert.equal(viaTsx.code, 2);
  assert.equal(viaTsx.stderr, line);

  // scripts/demo.sh is what `npm run demo` runs: it refuses before set-up and the stack
  const viaScript = run('bash', ['scripts/demo.sh', 'nosuch'], { PATH: `${path.join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH}` });
  assert.equal(viaScript.code, 2);
  assert.equal(viaScript.stdout, '');
  assert.equal(viaScript.stderr, line);

  const help = run('bash', ['scripts/demo.sh', '--help'], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, new RegExp(`^Families: ${families.join(', ')}$`, 'm'));
});
