// Issue 19 item 12: every path the worker writes in the image is writable by the image's user
// (the workflow bundle cache; the image runs as `node`, and what COPY brings in belongs to root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { workflowCacheDir } from '../../src/temporal/workflow-bundle';

const root = path.resolve(__dirname, '..', '..');

/** The runtime (last) stage's instructions, continuation lines joined and comments dropped. */
function runtimeStage(text: string): string[] {
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
  const from = joined.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).at(-1)!;
  return joined.slice(from + 1);
}

interface Image {
  user: string;
  workdir: string;
  env: Record<string, string>;
  /** folders (and everything under them) the user may write */
  writable: string[];
}

/** What the runtime stage leaves: its user, WORKDIR, ENV, and the places that user owns. */
function imageOf(lines: string[]): Image {
  const img: Image = { user: 'root', workdir: '/', env: {}, writable: ['/tmp'] };
  const abs = (p: string) => path.posix.resolve(img.workdir, p);
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    if (/^USER$/i.test(op)) img.user = rest[0].split(':')[0];
    else if (/^WORKDIR$/i.test(op)) img.workdir = abs(rest[0]);
    else if (/^ENV$/i.test(op)) for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) img.env[m[1]] = m[2].replace(/^"|"$/g, '');
    else if (/^(COPY|ADD)$/i.test(op)) {
      const chown = /--chown=([^:\s]+)/.exec(args)?.[1];
      const paths = rest.filter((a) => !a.startsWith('--'));
      if (chown) img.writable.push(`${chown}\0${abs(paths.at(-1)!)}`);
    } else if (/^RUN$/i.test(op)) {
      for (const m of args.matchAll(/chown\s+(?:-R\s+)?([^:\s]+)(?::\S+)?\s+([^&;|]+)/g)) for (const p of m[2].trim().split(/\s+/)) img.writable.push(`${m[1]}\0${abs(p)}`);
    }
  }
  return img;
}

function writableBy(img: Image, p: string): boolean {
  if (img.user === 'root') return true;
  if (p === `/home/${img.user}` || p.startsWith(`/home/${img.user}/`) || p.startsWith('/tmp/')) return true;
  return img.writable.some((w) => {
    const [owner, dir] = w.includes('\0') ? w.split('\0') : [img.user, w];
    return owner === img.user && (p === dir || p.startsWith(`${dir}/`));
  });
}

/** The paths the worker writes at run time, as the code computes them with the image's environment. */
function workerWrites(img: Image): string[] {
  return [workflowCacheDir(img.env, img.workdir)];
}

test('the image runs as a user other than root, and that user can write every path the worker writes', () => {
  const img = imageOf(runtimeStage(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')));
  assert.equal(img.user, 'node');
  assert.ok(img.env.BQSFTP_CACHE_DIR, 'the image says where the cache goes (BQSFTP_CACHE_DIR)');
  for (const p of workerWrites(img)) assert.ok(writableBy(img, p), `${p} is writable by ${img.user}`);
});

test('the check really looks: a root-owned COPY of the cache is not writable by node; --chown or a chown makes it so', () => {
  const base = ['WORKDIR /app', 'ENV NODE_ENV=production BQSFTP_CACHE_DIR=/app/.cache', 'USER node'];
  const rootCopy = imageOf(['WORKDIR /app', 'COPY --from=build /app/.cache ./.cache', ...base]);
  assert.deepEqual(workerWrites(rootCopy), ['/app/.cache/workflow-bundles']);
  assert.equal(writableBy(rootCopy, workerWrites(rootCopy)[0]), false);
  const noEnv = imageOf(['WORKDIR /app', 'COPY --from=build --chown=node:node /app/.cache ./.cache', 'USER node']);
  assert.equal(writableBy(noEnv, workerWrites(noEnv)[0]), true, 'default <workdir>/.cache');
  const chowned = imageOf(['WORKDIR /app', 'RUN mkdir -p /app/.cache && chown -R node:node /app/.cache', ...base]);
  assert.equal(writableBy(chowned, workerWrites(chowned)[0]), true);
  const otherDir = imageOf(['WORKDIR /app', 'COPY --chown=node:node x ./.cache', 'ENV BQSFTP_CACHE_DIR=/var/cache/bq', 'USER node']);
  assert.equal(writableBy(otherDir, workerWrites(otherDir)[0]), false, 'the cache moved to a root-owned place');
});
