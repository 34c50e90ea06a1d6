/**
 * The workflow code a worker runs, bundled once per version of the sources and cached, so a
 * worker process never runs webpack itself: bundling in-process roughly doubles a worker's peak
 * RSS (≈ 370 MB vs ≈ 230 MB measured) and adds seconds to every start.
 * The bundle is made by a child process (`bundle-workflows-child.ts`) and written atomically.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SRC_DIR = path.resolve(__dirname, '..');
const WORKFLOWS_DIR = path.join(SRC_DIR, 'workflows');
const REPO = path.resolve(__dirname, '..', '..');

/** Where bundles are kept: `$BQSFTP_CACHE_DIR/workflow-bundles` (default `<repo>/.cache/…`); the worker writes there. */
export function workflowCacheDir(env: Record<string, string | undefined> = process.env, repo = REPO): string {
  return path.resolve(env.BQSFTP_CACHE_DIR || path.join(repo, '.cache'), 'workflow-bundles');
}

/**
 * What the bundle's key is made of: every source file under `src/` (every family's workflow
 * imports helpers from its own folder and shared ones from elsewhere; the whole tree is a superset
 * of what the bundle holds) and, for the packages webpack pulls in from node_modules (the SDK,
 * long, ms, nexus-rpc…), the lock file that pins their versions, plus the SDK's own package.json.
 * A superset never reuses a stale bundle; it costs one rebundle after an unrelated change.
 */
export function digestInputs(srcDir = SRC_DIR, repo = REPO): string[] {
  const lock = path.join(repo, 'package-lock.json');
  return [require.resolve('@temporalio/workflow/package.json'), ...(fs.existsSync(lock) ? [lock] : []), ...sourceFiles(srcDir)];
}

export function workflowSourceDigest(srcDir = SRC_DIR, repo = REPO): string {
  const h = crypto.createHash('sha256');
  for (const file of digestInputs(srcDir, repo)) {
    const name = file.startsWith(srcDir + path.sep) ? path.relative(srcDir, file) : path.basename(file);
    h.update(name).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js|mjs|cjs|json)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

let pending: Promise<string> | undefined;

/** The path of the bundle for the current sources, made first if it is not cached yet. */
export function workflowBundlePath(): Promise<string> {
  pending ??= makeBundle().finally(() => (pending = undefined));
  return pending;
}

async function makeBundle(): Promise<string> {
  const file = path.join(workflowCacheDir(), `workflows-${workflowSourceDigest()}.js`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
  const ext = path.extname(__filename); // .ts under tsx, .js when compiled
  const child = path.join(__dirname, `bundle-workflows-child${ext}`);
  await run(process.execPath, [...(ext === '.ts' ? ['--import', 'tsx'] : []), child, WORKFLOWS_DIR, temp], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  fs.renameSync(temp, file);
  return file;
}
