// Issue 19 item 7: exports.*.file_name_template was validated but never read. It is refused now,
// naming the field and what to do, so no config believes its files get renamed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';
import { testConfig } from '../helpers/config';

test('a config with exports.<name>.file_name_template is refused (exit 2), naming the field and file_prefix', () => {
  const config = testConfig();
  const [name] = Object.keys(config.exports);
  const raw = JSON.parse(JSON.stringify(config)) as { exports: Record<string, Record<string, unknown>> };
  raw.exports[name].file_name_template = '{prefix}_{date}_{index}.{ext}';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-fnt-'));
  try {
    const file = path.join(dir, 'cfg.json');
    fs.writeFileSync(file, JSON.stringify(raw));
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'config', 'check', '-c', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`exports\\.${name}\\.file_name_template: is not supported .*<file_prefix>_<YYYYMMDD>-<12-digit index>\\.<ext>; set file_prefix`));
    delete raw.exports[name].file_name_template;
    fs.writeFileSync(file, JSON.stringify(raw));
    const ok = spawnSync(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'config', 'check', '-c', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ok.status, 0, ok.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
