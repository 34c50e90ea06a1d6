// Issue 19 item 6: the workflow bundle's key covers everything the bundle contains, so a change in
// an imported module outside src/workflows (or in a package webpack pulls in) makes a new bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { digestInputs, workflowBundlePath, workflowSourceDigest } from '../../src/temporal/workflow-bundle';

const repo = path.resolve(__dirname, '..', '..');
const src = path.join(repo, 'src');

test('a change in a module the workflows import from outside src/workflows gives a new bundle key', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-bundle-key-'));
  try {
    const copy = path.join(tmp, 'src');
    fs.cpSync(src, copy, { recursive: true });
    fs.copyFileSync(path.join(repo, 'package-lock.json'), path.join(tmp, 'package-lock.json'));
    const before = workflowSourceDigest(copy, tmp);
    assert.equal(workflowSourceDigest(copy, tmp), before, 'stable for the same sources');
    // src/export/naming.ts is imported by src/export/workflow.ts, which src/workflows/index.ts re-exports
    fs.appendFileSync(path.join(copy, 'export', 'naming.ts'), '\nexport const CHANGED = 1;\n');
    const afterImport = workflowSourceDigest(copy, tmp);
    assert.notEqual(afterImport, before, 'an imported module changed: a new bundle');
    // a dependency version changed in the lock file (long, ms, nexus-rpc, the SDK are in the bundle)
    fs.appendFileSync(path.join(tmp, 'package-lock.json'), '\n');
    assert.notEqual(workflowSourceDigest(copy, tmp), afterImport, 'the lock file changed: a new bundle');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('every module in the bundle webpack made is covered by the key (webpack\'s own module list)', async () => {
  const bundle = fs.readFileSync(await workflowBundlePath(), 'utf8');
  const modules = [...new Set([...bundle.matchAll(/"\.\/((?:src|node_modules)\/[^"]+)"/g)].map((m) => m[1]))];
  const sources = modules.filter((m) => m.startsWith('src/'));
  assert.ok(sources.includes('src/workflows/index.ts') || sources.includes('src/workflows/index.js'), `the list is found: ${sources.join(', ')}`);
  assert.ok(sources.some((m) => !m.startsWith('src/workflows/')), 'the bundle holds modules from outside src/workflows');
  const inputs = new Set(digestInputs().map((f) => path.relative(repo, f)));
  for (const m of sources) assert.ok(inputs.has(m), `${m} is part of the key`);
  assert.ok(modules.some((m) => m.startsWith('node_modules/')));
  assert.ok(inputs.has('package-lock.json'), 'the packages from node_modules are pinned by the lock file, which is part of the key');
});
