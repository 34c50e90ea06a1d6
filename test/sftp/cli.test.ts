/** `bq-sftp sftp …` in-process (runSftpCli) and through the real binary, against the stack's server. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Server, utils } from 'ssh2';
import { runSftpCli } from '../../src/cli/sftp';
import { resolveSftpSettings } from '../../src/sftp/settings';
import { createProgressBar } from '../../src/cli/progress';
import { createStorage } from '../../src/gcs/client';
import { sha256, stack, uniqueId } from '../helpers/stack';
import { freshRemoteDir, listLocal, localPath, removeRemoteDir, userOf, USER_KINDS, type UserKind } from './helpers/endpoints';

const info = stack();
const REPO = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], opts: { isTTY?: boolean; stdin?: string } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runSftpCli(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    isTTY: opts.isTTY ?? false,
    stdin: opts.stdin === undefined ? undefined : Readable.from([opts.stdin]),
  });
  return { code, out, err };
}

function authArgs(kind: UserKind): string[] {
  const u = userOf(kind);
  return kind === 'password'
    ? ['--username', u.username, '--password', info.sftp.passwordUser.password]
    : ['--username', u.username, '--key', info.sftp.keyUser.privateKeyPath, '--passphrase', info.sftp.keyUser.passphrase];
}

function connArgs(kind: UserKind, dir: string, pin = true): string[] {
  return ['--host', info.sftp.host, '--port', String(info.sftp.port), ...authArgs(kind), '--directory', dir, ...(pin ? ['--host-key', info.sftp.hostKeyFingerprint] : [])];
}

function ok(r: Run): Run {
  assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.err}`);
  return r;
}

/** A failure: the exit code, and exactly one line `bq-sftp: …` on stderr. */
function failed(r: Run, code: number, reason: RegExp): void {
  assert.equal(r.code, code, `stdout: ${r.out}\nstderr: ${r.err}`);
  const lines = r.err.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.err}`);
  assert.match(lines[0], /^bq-sftp: /);
  assert.match(lines[0], reason);
}

function put(kind: UserKind, remote: string, data: string | Buffer): void {
  const p = localPath(kind, remote);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  const owner = fs.statSync(localPath(kind, '/upload'));
  for (let d = path.dirname(p); d.startsWith(localPath(kind, '/upload/')); d = path.dirname(d)) fs.chownSync(d, owner.uid, owner.gid);
  fs.chownSync(p, owner.uid, owner.gid);
}

for (const kind of USER_KINDS) {
  void describe(`bq-sftp sftp as the ${kind} user`, () => {
    const dir = freshRemoteDir(kind, 'sftptest-cli');
    after(() => removeRemoteDir(kind, dir));

    test('check: connects, finds the folder writable, prints the real fingerprint and known_hosts line', async () => {
      const r = ok(await cli(['check', ...connArgs(kind, dir)]));
      assert.match(r.out, new RegExp(`Host key: +ssh-ed25519 ${info.sftp.hostKeyFingerprint.replace(/[+/]/g, '\\$&')} \\(matches the pinned key\\)`));
      assert.ok(r.out.includes(`known_hosts: ${info.sftp.knownHostsLine}`));
      assert.match(r.out, new RegExp(`Folder: +${dir} exists and is writable`));
      assert.deepEqual(listLocal(kind, dir), [], 'the probe file is removed');

      const json = JSON.parse(ok(await cli(['check', ...connArgs(kind, dir), '--json'])).out);
      assert.equal(json.ok, true);
      assert.equal(json.logged_in, true);
      assert.equal(json.host_key.fingerprint, info.sftp.hostKeyFingerprint);
      assert.equal(json.host_key.known_hosts_line, info.sftp.knownHostsLine);
      assert.equal(json.host_key_pinned, true);
      assert.equal(json.auth, kind === 'password' ? 'password' : 'private key + passphrase');
      assert.deepEqual(json.directory, { path: dir, exists: true, writable: true });
    });

    test('check on an unpinned host prints its key from the handshake and does not log in; --insecure-skip-host-key logs in', async () => {
      const r = await cli(['check', ...connArgs(kind, dir, false), '--json']);
      const json = JSON.parse(r.out);
      assert.equal(json.logged_in, false);
      assert.equal(json.ok, false);
      assert.equal(json.host_key.fingerprint, info.sftp.hostKeyFingerprint);
      assert.equal(json.host_key.known_hosts_line, info.sftp.knownHostsLine);
      assert.equal(json.directory, undefined, 'the folder was not looked at');
      failed(r, 1, /not pinned.*nothing was sent and no login was attempted/);
      const text = await cli(['check', ...connArgs(kind, dir, false)]);
      assert.match(text.out, /not logged in: nothing was sent/);
      assert.match(text.out, new RegExp(`pin it with --host-key ${info.sftp.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}`));

      const insecure = JSON.parse(ok(await cli(['check', '--insecure-skip-host-key', ...connArgs(kind, dir, false), '--json'])).out);
      assert.equal(insecure.logged_in, true);
      assert.equal(insecure.host_key_pinned, false);
      assert.deepEqual(insecure.directory, { path: dir, exists: true, writable: true });
    });

    test('check on a missing or read-only folder fails after printing the fingerprint', async () => {
      const r = await cli(['check', ...connArgs(kind, `${dir}/nope`)]);
      assert.ok(r.out.includes(info.sftp.hostKeyFingerprint));
      assert.match(r.out, /matches the pinned key/);
      failed(r, 1, /does not exist/);
      // the jail's root belongs to root
      const ro = await cli(['check', ...connArgs(kind, '/'), '--json']);
      assert.equal(JSON.parse(ro.out).directory.writable, false);
      failed(ro, 1, /cannot write to \/: .*permission denied/i);
    });

    test('ls, ls -l, ls --json, ls <subfolder>', async () => {
      put(kind, `${dir}/b.csv`, 'x'.repeat(1234));
      put(kind, `${dir}/a-folder/inner.txt`, 'inner');
      assert.equal(ok(await cli(['ls', ...connArgs(kind, dir)])).out, 'a-folder/\nb.csv\n');
      const long = ok(await cli(['ls', '-l', ...connArgs(kind, dir)])).out.split('\n');
      assert.match(long[0], /^drwx\S+ +\d+ +\d{4}-\d\d-\d\d \d\d:\d\d +a-folder\/$/);
      assert.match(long[1], /^-rw\S+ +1234 +\d{4}-\d\d-\d\d \d\d:\d\d +b\.csv$/);
      const json = JSON.parse(ok(await cli(['ls', '--json', ...connArgs(kind, dir)])).out);
      assert.deepEqual(json.map((e: { name: string; type: string; size: number }) => [e.name, e.type]), [['a-folder', 'dir'], ['b.csv', 'file']]);
      assert.equal(json[1].size, 1234);
      assert.ok(!Number.isNaN(Date.parse(json[1].mtime)));
      assert.equal(ok(await cli(['ls', 'a-folder', ...connArgs(kind, dir)])).out, 'inner.txt\n');
      failed(await cli(['ls', 'missing', ...connArgs(kind, dir)]), 1, /no such file/i);
    });

    test('tree with --depth and --json', async () => {
      put(kind, `${dir}/t/one/two/three.txt`, '333');
      put(kind, `${dir}/t/top.txt`, '1');
      const deep = ok(await cli(['tree', 't', ...connArgs(kind, dir)])).out;
      assert.equal(deep, `${dir}/t\n├── one/\n│   └── two/\n│       └── three.txt (3 B)\n└── top.txt (1 B)\n\n2 folders, 2 files, 4 B\n`);
      const shallow = ok(await cli(['tree', 't', '--depth', '1', ...connArgs(kind, dir)])).out;
      assert.match(shallow, /├── one\/ …\n└── top\.txt/);
      assert.doesNotMatch(shallow, /two/);
      const json = JSON.parse(ok(await cli(['tree', 't', '--depth', '2', '--json', ...connArgs(kind, dir)])).out);
      assert.equal(json.path, `${dir}/t`);
      assert.equal(json.children[0].name, 'one');
      assert.equal(json.children[0].children[0].name, 'two');
      assert.equal(json.children[0].children[0].truncated, true);
      failed(await cli(['tree', '--depth', '0', ...connArgs(kind, dir)]), 1, /--depth must be a whole number/);
    });

    test('upload --local (with --remote-file) and upload --gcs-uri stream the exact bytes', async () => {
      const data = crypto.randomBytes(3 * 1024 * 1024 + 11);
      const file = path.join(tmp, `${kind.replace(/\W/g, '')}.bin`);
      fs.writeFileSync(file, data);
      const r = ok(await cli(['upload', '--local', file, '--remote-file', 'renamed.bin', ...connArgs(kind, dir)]));
      assert.match(r.out, new RegExp(`→ ${dir}/renamed\\.bin \\(3\\.0 MiB, md5 ${crypto.createHash('md5').update(data).digest('hex')}`));
      assert.equal(sha256(fs.readFileSync(localPath(kind, `${dir}/renamed.bin`))), sha256(data));

      const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
      const object = `sftp-cli-tests/${uniqueId('o')}/export-000.csv.gz`;
      await storage.bucket(info.gcs.bucket).file(object).save(data, { resumable: false });
      try {
        const uri = `gs://${info.gcs.bucket}/${object}`;
        ok(await cli(['upload', '--gcs-uri', uri, '--gcs-endpoint', info.gcs.endpoint, '--gcs-project', info.gcs.projectId, ...connArgs(kind, dir)]));
        assert.equal(sha256(fs.readFileSync(localPath(kind, `${dir}/export-000.csv.gz`))), sha256(data));
        ok(await cli(['upload', '--gcs-uri', uri, '--gcs-endpoint', info.gcs.endpoint, '--remote-file', 'sub/dir/x.gz', ...connArgs(kind, dir)]));
        assert.equal(sha256(fs.readFileSync(localPath(kind, `${dir}/sub/dir/x.gz`))), sha256(data));
        failed(await cli(['upload', '--gcs-uri', `${uri}.missing`, '--gcs-endpoint', info.gcs.endpoint, ...connArgs(kind, dir)]), 1, /does not exist/);
      } finally {
        await storage.bucket(info.gcs.bucket).file(object).delete({ ignoreNotFound: true });
      }
      assert.ok(!listLocal(kind, dir).some((n) => n.endsWith('.partial')));
      failed(await cli(['upload', '--local', file, '--remote-file', '../escape.bin', ...connArgs(kind, dir)]), 2, /outside the folder/);
      failed(await cli(['upload', ...connArgs(kind, dir)]), 2, /exactly one source/);
    });

    test('download <remote> [local]', async () => {
      const data = crypto.randomBytes(777_777);
      put(kind, `${dir}/dl/file.bin`, data);
      const target = path.join(tmp, `dl-${kind.replace(/\W/g, '')}.bin`);
      const r = ok(await cli(['download', 'dl/file.bin', target, ...connArgs(kind, dir)]));
      assert.match(r.out, /Downloaded .*file\.bin → /);
      assert.ok(fs.readFileSync(target).equals(data));
      const intoDir = fs.mkdtempSync(path.join(tmp, 'into-'));
      ok(await cli(['download', `${dir}/dl/file.bin`, intoDir, ...connArgs(kind, dir)]));
      assert.ok(fs.readFileSync(path.join(intoDir, 'file.bin')).equals(data));
    });

    test('rm: a file, a folder needs -r, -rf deletes it, -f ignores a missing path', async () => {
      put(kind, `${dir}/rm/f.txt`, 'f');
      put(kind, `${dir}/rm/sub/deep/g.txt`, 'g');
      assert.match(ok(await cli(['rm', 'rm/f.txt', '-f', ...connArgs(kind, dir)])).out, new RegExp(`Deleted ${dir}/rm/f\\.txt`));
      assert.ok(!fs.existsSync(localPath(kind, `${dir}/rm/f.txt`)));
      failed(await cli(['rm', 'rm/sub', '-f', ...connArgs(kind, dir)]), 2, /is a folder: pass -r/);
      assert.ok(fs.existsSync(localPath(kind, `${dir}/rm/sub/deep/g.txt`)));
      ok(await cli(['rm', `${dir}/rm/sub`, '-rf', ...connArgs(kind, dir)]));
      assert.ok(!fs.existsSync(localPath(kind, `${dir}/rm/sub`)));
      ok(await cli(['rm', 'rm/never-there', '-f', ...connArgs(kind, dir)]));
    });

    test('rm never deletes outside --directory', async () => {
      const inner = `${dir}/inner`;
      put(kind, `${inner}/keep.txt`, 'k');
      put(kind, `${dir}/sibling/keep.txt`, 's');
      for (const victim of ['../sibling', `${dir}/sibling`, '/upload', '.', '/', '..']) {
        failed(await cli(['rm', victim, '-rf', ...connArgs(kind, inner)]), 2, /outside the folder|is the folder/);
      }
      assert.ok(fs.existsSync(localPath(kind, `${dir}/sibling/keep.txt`)));
      assert.ok(fs.existsSync(localPath(kind, `${inner}/keep.txt`)));
    });

    test('rm -rf of a link to a folder deletes the link, not the folder it points to', async () => {
      const inner = `${dir}/links`;
      put(kind, `${inner}/placeholder`, '');
      put(kind, `${dir}/elsewhere/precious.txt`, 'p');
      fs.symlinkSync(`${dir}/elsewhere`, localPath(kind, `${inner}/link`));
      ok(await cli(['rm', 'link', '-rf', ...connArgs(kind, inner)]));
      assert.deepEqual(listLocal(kind, inner), ['placeholder']);
      assert.ok(fs.existsSync(localPath(kind, `${dir}/elsewhere/precious.txt`)));
      fs.symlinkSync(`${dir}/elsewhere`, localPath(kind, `${inner}/link2`));
      ok(await cli(['clear', '-f', ...connArgs(kind, inner)]));
      assert.deepEqual(listLocal(kind, inner), []);
      assert.ok(fs.existsSync(localPath(kind, `${dir}/elsewhere/precious.txt`)));
    });

    test('rm and clear without -f and without a terminal refuse; nothing is deleted', async () => {
      put(kind, `${dir}/guarded/a.txt`, 'a');
      const guarded = `${dir}/guarded`;
      failed(await cli(['clear', ...connArgs(kind, guarded)]), 2, /refusing to empty .* without confirmation: there is no terminal.*pass -f/);
      failed(await cli(['rm', 'a.txt', ...connArgs(kind, guarded)]), 2, /refusing to delete .* without confirmation/);
      assert.deepEqual(listLocal(kind, guarded), ['a.txt']);
    });

    test('on a terminal, rm and clear ask; only "y" deletes', async () => {
      const asked = `${dir}/asked`;
      put(kind, `${asked}/a.txt`, 'a');
      put(kind, `${asked}/d/b.txt`, 'b');
      const no = await cli(['clear', ...connArgs(kind, asked)], { isTTY: true, stdin: 'n\n' });
      assert.match(no.err, /Delete all 2 entries in .*asked\? \[y\/N\]/);
      assert.equal(no.code, 1);
      assert.match(no.err, /bq-sftp: nothing deleted: not confirmed/);
      assert.deepEqual(listLocal(kind, asked), ['a.txt', 'd']);
      ok(await cli(['rm', 'a.txt', ...connArgs(kind, asked)], { isTTY: true, stdin: 'yes\n' }));
      assert.deepEqual(listLocal(kind, asked), ['d']);
      ok(await cli(['clear', ...connArgs(kind, asked)], { isTTY: true, stdin: 'y\n' }));
      assert.deepEqual(listLocal(kind, asked), []);
    });

    test('clear -f empties the folder and keeps it', async () => {
      const c = `${dir}/to-clear`;
      put(kind, `${c}/a.txt`, 'a');
      put(kind, `${c}/x/y/z.txt`, 'z');
      assert.match(ok(await cli(['clear', '-f', ...connArgs(kind, c)])).out, new RegExp(`Deleted 2 entries from ${c}`));
      assert.deepEqual(listLocal(kind, c), []);
      assert.ok(fs.existsSync(localPath(kind, c)));
      assert.match(ok(await cli(['clear', '-f', ...connArgs(kind, c)])).out, /already empty/);
    });
  });
}

void describe('bq-sftp sftp failures and settings', () => {
  const kind: UserKind = 'password';
  const dir = freshRemoteDir(kind, 'sftptest-cli');
  after(() => removeRemoteDir(kind, dir));

  test('a wrong password: exit 1, one line, no secret', async () => {
    const args = connArgs(kind, dir).map((a) => (a === info.sftp.passwordUser.password ? 'Wrong-Secret-987' : a));
    const r = await cli(['ls', ...args]);
    failed(r, 1, /refused the login/);
    assert.ok(!r.err.includes('Wrong-Secret-987'));
  });

  test('every command but check refuses an unpinned host key and says how to pin it', async () => {
    failed(await cli(['ls', ...connArgs(kind, dir, false)]), 1, /not pinned.*bq-sftp sftp check/);
    ok(await cli(['ls', '--insecure-skip-host-key', ...connArgs(kind, dir, false)]));
  });

  test('a wrong host key is refused', async () => {
    const args = connArgs(kind, dir).map((a) => (a === info.sftp.hostKeyFingerprint ? 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' : a));
    failed(await cli(['check', ...args]), 1, /presented the host key .* not the pinned/);
  });

  test('missing settings are named', async () => {
    failed(await cli(['ls', '--host', '127.0.0.1', '--directory', '/upload']), 2, /No SFTP username/);
    failed(await cli(['ls', '--host', '127.0.0.1', '--username', 'u', '--password', 'p', '--directory', 'upload']), 2, /must be an absolute path/);
  });

  test('--config uses the sftp block (key user, private_key_path) and the gcs block', async () => {
    const keyDir = freshRemoteDir('key + passphrase', 'sftptest-cli');
    const config = path.join(tmp, 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        gcs: { bucket: info.gcs.bucket, project_id: info.gcs.projectId, api_endpoint: info.gcs.endpoint },
        sftp: {
          host: info.sftp.host,
          port: info.sftp.port,
          username: info.sftp.keyUser.username,
          private_key_path: info.sftp.keyUser.privateKeyPath,
          passphrase: info.sftp.keyUser.passphrase,
          directory: keyDir,
          host_key: info.sftp.knownHostsLine,
        },
      }),
    );
    try {
      const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
      const object = `sftp-cli-tests/${uniqueId('cfg')}.csv`;
      await storage.bucket(info.gcs.bucket).file(object).save(Buffer.from('a,b\n1,2\n'), { resumable: false });
      ok(await cli(['upload', '-c', config, '--gcs-uri', `gs://${info.gcs.bucket}/${object}`, '--remote-file', 'from-config.csv']));
      await storage.bucket(info.gcs.bucket).file(object).delete({ ignoreNotFound: true });
      assert.equal(ok(await cli(['ls', '-c', config])).out, 'from-config.csv\n');
      // a flag wins over the file
      failed(await cli(['ls', '-c', config, '--directory', `${keyDir}/missing`]), 1, /no such file/i);
      failed(await cli(['ls', '-c', path.join(tmp, 'nope.json')]), 2, /Cannot read the config file/);
    } finally {
      removeRemoteDir('key + passphrase', keyDir);
    }
  });

  test('through the real binary: ls --json with SFTP_* environment variables; a failure exits non-zero with one line', () => {
    put(kind, `${dir}/bin-test.txt`, 'hello');
    const env = {
      ...process.env,
      SFTP_HOST: info.sftp.host,
      SFTP_PORT: String(info.sftp.port),
      SFTP_USERNAME: info.sftp.passwordUser.username,
      SFTP_PASSWORD: info.sftp.passwordUser.password,
      SFTP_DIRECTORY: dir,
      SFTP_HOST_KEY: info.sftp.hostKeyFingerprint,
    };
    const r = spawnSync(process.execPath, ['bin/bq-sftp.js', 'sftp', 'ls', '--json'], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).map((e: { name: string }) => e.name), ['bin-test.txt']);

    const bad = spawnSync(process.execPath, ['bin/bq-sftp.js', 'sftp', 'clear'], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^bq-sftp: refusing to empty/);
    assert.deepEqual(listLocal(kind, dir), ['bin-test.txt']);

    const help = spawnSync(process.execPath, ['bin/bq-sftp.js', 'sftp', 'upload', '--help'], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--gcs-uri <uri>/);
    assert.match(help.stdout, /--host-key <pin>/);
  });
});

void describe('progress bar', () => {
  test('draws bytes, percentage, rate and ETA on a terminal, throttled; nothing off a terminal', () => {
    let t = 0;
    let out = '';
    const bar = createProgressBar({ label: 'f.csv', total: 4 * 1024 * 1024, stream: { write: (s: string) => (out += s) }, isTTY: true, now: () => t, intervalMs: 100 });
    t = 1000;
    bar.update(1024 * 1024);
    assert.match(out, /f\.csv +\[#{6}\.{18}\] +25% +1\.0 MiB\/4\.0 MiB +1\.0 MiB\/s +ETA 3s/);
    const drawn = out;
    t = 1050;
    bar.update(2 * 1024 * 1024);
    assert.equal(out, drawn, 'redrawn sooner than the interval');
    t = 2000;
    bar.done();
    assert.match(out, /100% +4\.0 MiB\/4\.0 MiB|50%/);
    assert.ok(out.endsWith('\n'));

    let quiet = '';
    const off = createProgressBar({ label: 'x', total: 10, stream: { write: (s: string) => (quiet += s) }, isTTY: false });
    off.update(5);
    off.done();
    assert.equal(quiet, '');
  });
});

/** An SSH server of our own that records every authentication attempt (and accepts none). */
async function recordingSshServer(): Promise<{ port: number; fingerprint: string; attempts: { method: string; username: string; password?: string }[]; close(): Promise<void> }> {
  const keys = utils.generateKeyPairSync('ed25519');
  const attempts: { method: string; username: string; password?: string }[] = [];
  const server = new Server({ hostKeys: [keys.private] }, (client) => {
    client.on('authentication', (ctx) => {
      attempts.push({ method: ctx.method, username: ctx.username, password: ctx.method === 'password' ? ctx.password : undefined });
      ctx.reject();
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const blob = Buffer.from(keys.public.split(' ')[1], 'base64');
  return {
    port,
    fingerprint: `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
    attempts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

void describe('host-key discovery (issue 19 item 10)', () => {
  test('check against an unpinned server sends no password or key: the server sees no authentication attempt', async () => {
    const srv = await recordingSshServer();
    try {
      const r = await cli(['check', '--host', '127.0.0.1', '--port', String(srv.port), '--username', 'alice', '--password', 'Very-Secret-Pw-1', '--directory', '/upload', '--json']);
      assert.equal(JSON.parse(r.out).host_key.fingerprint, srv.fingerprint, 'the key from the handshake');
      failed(r, 1, /not pinned/);
      const withKey = await cli(['check', '--host', '127.0.0.1', '--port', String(srv.port), '--username', 'alice', '--key', info.sftp.keyUser.privateKeyPath, '--passphrase', info.sftp.keyUser.passphrase, '--directory', '/upload']);
      assert.equal(withKey.code, 1);
      assert.equal(srv.attempts.length, 0, 'no authentication was attempted');
      // pinned now: check logs in (and this server refuses it), so the attempt is the proof the probe above sent none
      const pinned = await cli(['check', '--host', '127.0.0.1', '--port', String(srv.port), '--username', 'alice', '--password', 'Very-Secret-Pw-1', '--directory', '/upload', '--host-key', srv.fingerprint]);
      failed(pinned, 1, /refused the login/);
      assert.ok(srv.attempts.some((a) => a.method === 'password' && a.password === 'Very-Secret-Pw-1'));
    } finally {
      await srv.close();
    }
  });

  test('with --config: --connection <unpinned> prints the key without logging in; --all logs in to the pinned one only', async () => {
    const srv = await recordingSshServer();
    const dir = freshRemoteDir('password', 'sftptest-cli');
    const config = path.join(tmp, `conns-${uniqueId('c')}.json`);
    fs.writeFileSync(
      config,
      JSON.stringify({
        sftp: { host: info.sftp.host, port: info.sftp.port, username: info.sftp.passwordUser.username, password: info.sftp.passwordUser.password, directory: dir, host_key: info.sftp.hostKeyFingerprint },
        connections: { sftp: { partner_new: { host: '127.0.0.1', port: srv.port, username: 'bob', password: 'Partner-Secret-2', directory: '/in' } } },
      }),
    );
    try {
      const one = await cli(['check', '-c', config, '--connection', 'partner_new']);
      assert.ok(one.out.includes(srv.fingerprint));
      failed(one, 1, /not pinned/);

      const all = await cli(['check', '--all', '-c', config, '--json']);
      assert.equal(all.code, 1);
      const report = JSON.parse(all.out) as { connections: { connection: string; ok: boolean; report: { logged_in: boolean; host_key: { fingerprint: string } } }[] };
      const by = Object.fromEntries(report.connections.map((c) => [c.connection, c]));
      assert.equal(by.default.ok, true);
      assert.equal(by.default.report.logged_in, true);
      assert.equal(by.partner_new.ok, false);
      assert.equal(by.partner_new.report.logged_in, false);
      assert.equal(by.partner_new.report.host_key.fingerprint, srv.fingerprint);
      assert.equal(srv.attempts.length, 0, 'no credentials went to the unpinned server');
    } finally {
      await srv.close();
      removeRemoteDir('password', dir);
    }
  });
});

void describe('settings through the config schema (issue 19 item 14)', () => {
  const block = (extra: Record<string, unknown> = {}) => ({
    host: info.sftp.host,
    port: info.sftp.port,
    username: info.sftp.passwordUser.username,
    password: info.sftp.passwordUser.password,
    directory: '/upload',
    host_key: info.sftp.hostKeyFingerprint,
    ...extra,
  });
  const write = (obj: unknown) => {
    const file = path.join(tmp, `settings-${uniqueId('s')}.json`);
    fs.writeFileSync(file, JSON.stringify(obj));
    return file;
  };

  test('a publish_mode typo is exit 2 naming the field (not a silent "rename"); in_place is honoured', async () => {
    const typo = write({ sftp: block({ publish_mode: 'renmae' }) });
    failed(await cli(['ls', '-c', typo]), 2, /sftp\.publish_mode in .*: must be one of rename, in_place/);
    const named = write({ connections: { sftp: { partner: block({ publish_mode: 'inplace' }) } } });
    failed(await cli(['ls', '-c', named, '--connection', 'partner']), 2, /connections\.sftp\.partner\.publish_mode in .*: must be one of rename, in_place/);
    assert.equal(resolveSftpSettings({ config: write({ sftp: block({ publish_mode: 'in_place' }) }) }, {}).publishMode, 'in_place');
    assert.equal(resolveSftpSettings({ config: write({ sftp: block() }) }, {}).publishMode, 'rename');
  });

  test('other fields of the block are checked like the config: temp_suffix, an unknown key, ciphers from the flag', async () => {
    failed(await cli(['ls', '-c', write({ sftp: block({ temp_suffix: 'a/b' }) })]), 2, /sftp\.temp_suffix in .*: must not contain '\/'/);
    failed(await cli(['ls', '-c', write({ sftp: block({ hots: 'x' }) })]), 2, /sftp\.hots in .*: unknown key \(did you mean "host"\?\)/);
    failed(await cli(['ls', '-c', write({ sftp: block({ ready_timeout_ms: 'soon' }) })]), 2, /sftp\.ready_timeout_ms in .*: must be a number/);
    failed(await cli(['ls', '-c', write({ sftp: block() }), '--ciphers', ',']), 2, /--ciphers: must list at least one cipher/);
  });

  test('flags win over the config file, which wins over SFTP_* variables, field by field', () => {
    const env = { SFTP_HOST: 'env-host', SFTP_USERNAME: 'env-user', SFTP_PASSWORD: 'env-pw', SFTP_DIRECTORY: '/from-env', SFTP_PORT: '2201' };
    const cfg = write({ sftp: { host: 'file-host', username: 'file-user', password: 'file-pw', directory: '/from-file' } });
    const fromEnv = resolveSftpSettings({}, env);
    assert.deepEqual([fromEnv.endpoint.host, fromEnv.endpoint.port, fromEnv.directory, fromEnv.endpoint.password], ['env-host', 2201, '/from-env', 'env-pw']);
    const fromFile = resolveSftpSettings({ config: cfg }, env);
    assert.deepEqual([fromFile.endpoint.host, fromFile.endpoint.port, fromFile.directory, fromFile.endpoint.password], ['file-host', 2201, '/from-file', 'file-pw']);
    const fromFlags = resolveSftpSettings({ config: cfg, host: 'flag-host', port: '2202', directory: '/from-flag/', password: 'flag-pw' }, env);
    assert.deepEqual([fromFlags.endpoint.host, fromFlags.endpoint.port, fromFlags.directory, fromFlags.endpoint.password], ['flag-host', 2202, '/from-flag', 'flag-pw']);
    // a key on the command line outranks the file's password (one way to log in)
    const withKey = resolveSftpSettings({ config: cfg, key: info.sftp.keyUser.privateKeyPath, passphrase: 'pp' }, env);
    assert.equal(withKey.endpoint.password, undefined);
    assert.match(String(withKey.endpoint.privateKey), /PRIVATE KEY/);
    assert.throws(() => resolveSftpSettings({ config: cfg, port: 'abc' }, env), /The port "abc" \(the command line\) is not a port number/);
  });
});
