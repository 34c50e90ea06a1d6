import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../src/stack/layout';
import { stack } from '../helpers/stack';

const info = stack();
const bin = path.join(repoRoot, 'bin/bq-sftp.js');

function configFile(): string {
  const common = { host: info.sftp.host, port: info.sftp.port, host_key: info.sftp.hostKeyFingerprint, directory: '/upload' };
  const cfg = {
    gcs: { bucket: info.gcs.bucket },
    sftp: { ...common, username: info.sftp.passwordUser.username, password: { env: 'T_PW_SFTP_PASSWORD' } },
    connections: {
      sftp: {
        partner_key: { ...common, username: info.sftp.keyUser.username, private_key_path: info.sftp.keyUser.privateKeyPath, passphrase: { env: 'T_KEY_PASSPHRASE' } },
        partner_broken: { ...common, username: info.sftp.passwordUser.username, password: 'not-the-password' },
      },
    },
    exports: {},
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-conn-cli-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  return file;
}

const env = () => ({ PATH: process.env.PATH ?? '', T_PW_SFTP_PASSWORD: info.sftp.passwordUser.password, T_KEY_PASSPHRASE: info.sftp.keyUser.passphrase });
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, env: env() });

test('sftp check --all checks every connection, prints each host key, exits 1 naming the one that failed', () => {
  const file = configFile();
  const run = cli(['sftp', 'check', '--all', '--json', '-c', file]);
  assert.equal(run.status, 1, run.stderr);
  const out = JSON.parse(run.stdout) as { ok: boolean; connections: { connection: string; ok: boolean; report?: { host_key: { fingerprint: string }; username: string } }[] };
  assert.equal(out.ok, false);
  const by = new Map(out.connections.map((c) => [c.connection, c]));
  assert.deepEqual([...by.keys()].sort(), ['default', 'partner_broken', 'partner_key']);
  assert.equal(by.get('default')!.ok, true);
  assert.equal(by.get('partner_key')!.ok, true);
  assert.equal(by.get('partner_key')!.report!.username, info.sftp.keyUser.username);
  assert.equal(by.get('partner_key')!.report!.host_key.fingerprint, info.sftp.hostKeyFingerprint);
  assert.equal(by.get('partner_broken')!.ok, false);
  assert.match(run.stderr, /1 of 3 connections failed: partner_broken/);
  assert.ok(!run.stdout.includes(info.sftp.keyUser.passphrase) && !run.stderr.includes('not-the-password'));
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});

test('sftp --connection picks a named connection; an unknown one is refused with the known names', () => {
  const file = configFile();
  const ls = cli(['sftp', 'ls', '/upload', '--json', '--connection', 'partner_key', '-c', file]);
  assert.equal(ls.status, 0, ls.stderr);
  assert.ok(Array.isArray(JSON.parse(ls.stdout)));
  const unknown = cli(['sftp', 'ls', '--connection', 'partnr_key', '-c', file]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no connection "partnr_key"; known: default, partner_broken, partner_key/);
  const noConfig = cli(['sftp', 'ls', '--connection', 'partner_key']);
  assert.equal(noConfig.status, 2);
  assert.match(noConfig.stderr, /--connection names a connection of a config file: pass --config too/);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
