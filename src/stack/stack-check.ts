import fs from 'node:fs';
import path from 'node:path';
import { credentialsPath, repoRoot, stackLayout, type StackLayout } from './layout';
import { isPortOpen } from './probes';
import type { StackInfo } from './stack-info';

/**
 * Commands that need the local stack (demo, bench, tests) check it first with one quick probe
 * per service, so a stopped stack gives one line saying how to start it instead of an
 * ECONNREFUSED trace from deep inside a client library.
 */
export class StackDownError extends Error {
  override name = 'StackDownError';
}

function startHint(layout: StackLayout): string {
  const dflt = path.join(repoRoot, '.stack');
  const env = layout.stateDir === dflt ? '' : `BQSFTP_STACK_DIR=${layout.stateDir} `;
  return `start it with \`${env}npm run stack -- up\``;
}

/** The stack's endpoint file, or a StackDownError saying the stack was never started. */
export function stackInfoOrThrow(layout: StackLayout = stackLayout()): StackInfo {
  const file = credentialsPath(layout);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new StackDownError(`the local stack is not set up (no ${file}): ${startHint(layout)}`);
  }
  return JSON.parse(text) as StackInfo;
}

function hostPort(address: string): { host: string; port: number } {
  const u = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: u.hostname, port: Number(u.port) };
}

/** Every service of the stack with the host:port it answers on, from the endpoint file. */
export function stackEndpoints(info: StackInfo): { name: string; host: string; port: number }[] {
  return [
    { name: 'Temporal', ...hostPort(info.temporal.address) },
    { name: 'Cloud Storage', ...hostPort(info.gcs.endpoint) },
    { name: 'BigQuery', ...hostPort(info.bigquery.endpoint) },
    { name: 'SFTP', host: info.sftp.host, port: info.sftp.port },
    { name: 'PostgreSQL', host: info.postgres.host, port: info.postgres.port },
  ];
}

/**
 * Resolves with the stack's endpoints when every service accepts connections; otherwise
 * rejects with a one-line StackDownError naming what is down and how to start the stack.
 */
export async function requireStack(layout: StackLayout = stackLayout(), timeoutMs = 1000): Promise<StackInfo> {
  const info = stackInfoOrThrow(layout);
  const endpoints = stackEndpoints(info);
  const open = await Promise.all(endpoints.map((e) => isPortOpen(e.host, e.port, timeoutMs)));
  const down = endpoints.filter((_, i) => !open[i]);
  if (down.length === endpoints.length) {
    throw new StackDownError(`the local stack is down (nothing answers on ${down.map((d) => `${d.host}:${d.port}`).join(', ')}): ${startHint(layout)}`);
  }
  if (down.length) {
    throw new StackDownError(
      `the local stack is partly down (${down.map((d) => `${d.name} on ${d.host}:${d.port}`).join(', ')}): ${startHint(layout)}`,
    );
  }
  return info;
}

/** For scripts' top level: the endpoint file or one line on stderr and exit 1. */
export function stackInfoOrExit(prefix: string, layout: StackLayout = stackLayout()): StackInfo {
  try {
    return stackInfoOrThrow(layout);
  } catch (err) {
    process.stderr.write(`${prefix}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

const USES_STACK = /(?<!function\s+)\bstack\(\)|\breadStackInfo\(\)/;
/** test/helpers/stack.ts defines `stack()`: importing it (e.g. for uniqueId) is not using the stack */
const PROVIDES_STACK = /\bexport\s+function\s+stack\(\)/;
const RELATIVE_IMPORT = /\bfrom\s+'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)|\brequire\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

/**
 * The test files among `files` that use the running stack: they (or a helper they import from
 * test/, transitively) call `stack()` or `readStackInfo()`. Files that start servers of their own
 * or need none can run without it.
 */
export function filesNeedingStack(files: string[], testRoot = path.join(repoRoot, 'test')): string[] {
  const memo = new Map<string, boolean>();
  const resolveImport = (from: string, spec: string): string | undefined => {
    const base = path.resolve(path.dirname(from), spec);
    return [base, `${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  };
  const uses = (file: string): boolean => {
    const known = memo.get(file);
    if (known !== undefined) return known;
    memo.set(file, false); // cycles
    const text = fs.readFileSync(file, 'utf8');
    if (PROVIDES_STACK.test(text)) return false;
    let result = USES_STACK.test(text);
    for (const m of text.matchAll(RELATIVE_IMPORT)) {
      if (result) break;
      const dep = resolveImport(file, m[1] ?? m[2] ?? m[3]);
      if (dep && dep.startsWith(`${testRoot}${path.sep}`)) result = uses(dep);
    }
    memo.set(file, result);
    return result;
  };
  return files.filter((f) => uses(path.resolve(f)));
}

// `tsx src/stack/stack-check.ts [prefix] [-- test files]`: exit 0 when the stack is up (or none of
// the given test files needs it), else one line on stderr and exit 1
if (require.main === module) {
  const argv = process.argv.slice(2);
  const dashes = argv.indexOf('--');
  const prefix = (dashes >= 0 ? argv.slice(0, dashes) : argv)[0] ?? 'stack';
  const files = dashes >= 0 ? argv.slice(dashes + 1) : undefined;
  if (files && filesNeedingStack(files).length === 0) process.exit(0);
  requireStack().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${prefix}: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
