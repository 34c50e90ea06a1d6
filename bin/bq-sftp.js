#!/usr/bin/env node
'use strict';
// The `bq-sftp` command. It runs the compiled JavaScript in dist/ (`npm run build`) — what an
// installed package and the Docker image hold. In a source checkout it runs the TypeScript in
// src/ through tsx instead whenever dist/ is missing or older than any file under src/, so tests,
// the demo and `npx bq-sftp` never run stale code and need no build. BQSFTP_RUN=dist|tsx forces one.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const stamp = path.join(root, 'dist', '.build-stamp');

/** the newest modification time of any file under dir (ms), 0 when dir does not exist */
function newest(dir) {
  let max = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const t = e.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs;
    if (t > max) max = t;
  }
  return max;
}

function useCompiled() {
  const forced = process.env.BQSFTP_RUN;
  if (forced === 'dist') return true;
  if (forced === 'tsx') return false;
  if (!fs.existsSync(compiled)) return false;
  const src = path.join(root, 'src');
  if (!fs.existsSync(src)) return true; // an installed package: only dist/
  let built;
  try {
    built = fs.statSync(stamp).mtimeMs;
  } catch {
    return false; // dist/ not made by `npm run build`
  }
  return newest(src) <= built;
}

// issue 20: with BQSFTP_WORKER_LEAN=1 `worker` starts itself again with the lean memory settings (bin/lean-worker.js)
const lean = require('./lean-worker.js');
if (lean.needsLeanRestart(process.argv.slice(2), process.env)) return lean.runLeanWorker(__filename, process.argv.slice(2));
lean.watchLauncher();

let main;
if (useCompiled()) {
  main = require(compiled);
} else {
  try {
    require('tsx/cjs');
  } catch {
    process.stderr.write('bq-sftp: dist/ is missing or older than src/ and tsx is not installed: run `npm run build`\n');
    process.exit(1);
  }
  main = require(path.join(root, 'src', 'cli', 'main.ts'));
}
main.runCli(process.argv.slice(2)).then((code) => process.exit(code));
