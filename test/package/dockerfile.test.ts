import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

interface Stage {
  from: string;
  lines: string[];
}

/** The Dockerfile's instructions (continuation lines joined, comments dropped), split into stages. */
function stages(): Stage[] {
  const text = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const joined: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      if (current) joined.push(current);
      current = '';
    }
  }
  const out: Stage[] = [];
  for (const l of joined) {
    if (/^FROM\s/i.test(l)) out.push({ from: l, lines: [] });
    else out.at(-1)?.lines.push(l);
  }
  return out;
}

/** `ENV A=1 B=2` and `ENV A 1` → { A: '1', B: '2' } */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of stage.lines.filter((x) => /^ENV\s/i.test(x))) {
    const rest = l.replace(/^ENV\s+/i, '');
    if (!rest.includes('=')) {
      const [k, ...v] = rest.split(/\s+/);
      env[k] = v.join(' ');
      continue;
    }
    for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return env;
}

void test('the image does not switch off the metadata server (workload identity on Cloud Run / GKE needs it)', () => {
  const all = stages();
  const runtime = all.at(-1)!;
  const env = envOf(runtime);
  assert.equal(env.NODE_ENV, 'production', 'the parser reads the ENV block');
  for (const s of all) assert.equal(envOf(s).METADATA_SERVER_DETECTION, undefined, `the Dockerfile sets METADATA_SERVER_DETECTION in "${s.from}"`);
  // the local stack's worker service is where it belongs
  const compose = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
  const worker = compose.slice(compose.indexOf('\n  worker:'));
  assert.match(worker, /\n\s+METADATA_SERVER_DETECTION: none\n/);
});

void test('the env parser finds METADATA_SERVER_DETECTION when it is set (the guard really looks)', () => {
  const stage: Stage = { from: 'FROM x', lines: ['ENV NODE_ENV=production METADATA_SERVER_DETECTION=none MALLOC_ARENA_MAX=1', 'ENV OTHER 1'] };
  assert.deepEqual(envOf(stage), { NODE_ENV: 'production', METADATA_SERVER_DETECTION: 'none', MALLOC_ARENA_MAX: '1', OTHER: '1' });
});

void test('the image runs compiled code with production dependencies only', () => {
  const all = stages();
  const runtime = all.at(-1)!;
  const cmd = runtime.lines.find((l) => l.startsWith('CMD '));
  assert.deepEqual(JSON.parse(cmd!.slice(4)), ['node', 'bin/bq-sftp.js', 'worker']);
  assert.ok(runtime.lines.some((l) => /^RUN npm install --omit=dev\b/.test(l)), 'the runtime stage installs without dev dependencies');
  const copies = runtime.lines.filter((l) => l.startsWith('COPY '));
  assert.ok(copies.some((l) => /--from=build \/app\/dist \.\/dist$/.test(l)), 'the runtime stage copies dist/ from the build stage');
  assert.ok(!copies.some((l) => /\bsrc\b/.test(l)), 'the runtime stage holds no TypeScript sources');
  assert.ok(!runtime.lines.some((l) => /\btsx\b/.test(l)), 'the runtime stage never runs tsx');
  const build = all.find((s) => / AS build$/i.test(s.from));
  assert.ok(build?.lines.some((l) => /^RUN npm run build\b/.test(l)), 'the build stage runs npm run build');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.equal(pkg.dependencies.tsx, undefined, 'tsx is a dev dependency');
  assert.ok(pkg.devDependencies.tsx);
});

void test('the image runs lean as the launcher does: one malloc arena, 1 MiB semi-spaces, the lean heap growth', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lean = require('../../bin/lean-worker.js') as { leanEnv(env: Record<string, string>): Record<string, string> };
  const env = envOf(stages().at(-1)!);
  const launcher = lean.leanEnv({});
  assert.equal(env.MALLOC_ARENA_MAX, launcher.MALLOC_ARENA_MAX);
  assert.equal(env.BQSFTP_HEAP_GROWING_PERCENT, launcher.BQSFTP_HEAP_GROWING_PERCENT);
  assert.match(env.NODE_OPTIONS ?? '', /--max-semi-space-size=1\b/);
});
