import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { StackLayout } from './layout';
import { folderFor } from './outside-dirs';

export const PASSWORD_USER = 'bqsftp_pw';
export const KEY_USER = 'bqsftp_key';
/** Inside each user's jail, the folder they may write to. */
export const UPLOAD_DIR = '/upload';

export interface SshdPrepared {
  configPath: string;
  hostKeyFingerprint: string;
  knownHostsLine: string;
  password: string;
  passphrase: string;
  privateKeyPath: string;
  chrootRoot: string;
}

export function findSshd(): string | undefined {
  return ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => fs.existsSync(p));
}

/** SHA256 fingerprint as OpenSSH prints it, from an `ssh-xxx AAAA...` public key line. */
export function fingerprintOfPublicKeyLine(line: string): string {
  const blob = Buffer.from(line.trim().split(/\s+/)[1], 'base64');
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * OpenSSH's ChrootDirectory demands that every component of the path is root-owned and not
 * writable by group or others. A clone under /tmp (sticky, world-writable) fails that, so the
 * jails then move to /var/lib/bq-sftp/<hash of the state dir> and a symlink points there.
 */
function chrootRootFor(layout: StackLayout): string {
  const inRepo = path.join(layout.stateDir, 'sftp');
  let dir = path.dirname(inRepo);
  let ok = true;
  while (ok) {
    const st = fs.statSync(dir);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) ok = false;
    if (dir === path.dirname(dir)) break;
    dir = path.dirname(dir);
  }
  if (ok) {
    if (fs.existsSync(inRepo) && fs.lstatSync(inRepo).isSymbolicLink()) fs.rmSync(inRepo);
    return inRepo;
  }
  const hash = crypto.createHash('sha256').update(layout.stateDir).digest('hex').slice(0, 12);
  const outside = path.join('/var/lib/bq-sftp', hash);
  fs.mkdirSync(outside, { recursive: true, mode: 0o755 });
  if (!fs.existsSync(inRepo)) fs.symlinkSync(outside, inRepo);
  return outside;
}

function ensureUser(name: string): { uid: number; gid: number } {
  const lookup = () => {
    try {
      return execFileSync('id', ['-u', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return undefined;
    }
  };
  if (lookup() === undefined) {
    execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', name]);
  }
  const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
  return { uid, gid };
}

function randomSecret(): string {
  return crypto.randomBytes(18).toString('base64url');
}

/**
 * The password user is a system account, shared by every stack on this machine (a second clone,
 * a test's own stack), so its generated password is kept machine-wide: a new stack must not
 * change the password under a running one.
 */
function machinePassword(): string {
  const file = '/var/lib/bq-sftp/bqsftp_pw.password';
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const pw = randomSecret();
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, `${pw}\n`, { mode: 0o600 });
    return pw;
  }
}

/**
 * Generates host key, users, passwords, the key user's passphrase-protected key and the
 * sshd_config. Idempotent: keeps existing keys and secrets so a restart does not change them.
 */
/** Whether the passphrase opens the key (`ssh-keygen -y` derives the public key only if it does). */
function keyOpens(privateKeyPath: string, passphrase: string): boolean {
  try {
    execFileSync('ssh-keygen', ['-y', '-f', privateKeyPath, '-P', passphrase], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function prepareSshd(layout: StackLayout, previous?: { passphrase: string }): SshdPrepared {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the SFTP server needs root: it runs our own sshd with two system users (bqsftp_pw, bqsftp_key). ' +
        'Run the stack as root (e.g. `sudo npm run stack -- up`) or use docker-compose.yml.',
    );
  }
  const dir = path.join(layout.stateDir, 'sshd');
  const keysDir = path.join(layout.stateDir, 'keys');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  if (!fs.existsSync(hostKey)) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bq-sftp-stack-host', '-f', hostKey]);
  }
  const hostPub = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim();
  const [keyType, keyBlob] = hostPub.split(/\s+/);
  const hostPart = layout.ports.sftp === 22 ? layout.host : `[${layout.host}]:${layout.ports.sftp}`;

  const password = machinePassword();
  const privateKeyPath = path.join(keysDir, 'bqsftp_key_ed25519');
  // kept beside the key: an `up` that failed before writing stack.json must not pair the old key with a new passphrase
  const passphraseFile = `${privateKeyPath}.passphrase`;
  let passphrase = previous?.passphrase ?? (fs.existsSync(passphraseFile) ? fs.readFileSync(passphraseFile, 'utf8').trim() : undefined);
  if (!fs.existsSync(privateKeyPath) || !passphrase || !keyOpens(privateKeyPath, passphrase)) {
    passphrase = randomSecret();
    fs.rmSync(privateKeyPath, { force: true });
    fs.rmSync(`${privateKeyPath}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'bq-sftp-demo-key-user', '-f', privateKeyPath]);
  }
  fs.writeFileSync(passphraseFile, passphrase, { mode: 0o600 });

  const pw = ensureUser(PASSWORD_USER);
  const key = ensureUser(KEY_USER);
  execFileSync('chpasswd', [], { input: `${PASSWORD_USER}:${password}\n` });
  // '*' = no password login but not "locked": OpenSSH refuses even key logins for locked ('!') accounts
  execFileSync('usermod', ['-p', '*', KEY_USER]);
  // sshd reads authorized_keys as the user: outside the clone when the user cannot reach it
  const authorizedKeys = folderFor(layout, path.join('sshd', 'authorized_keys'), key).dir;
  fs.writeFileSync(path.join(authorizedKeys, KEY_USER), fs.readFileSync(`${privateKeyPath}.pub`));

  const chrootRoot = chrootRootFor(layout);
  fs.chmodSync(layout.stateDir, 0o755);
  fs.mkdirSync(chrootRoot, { recursive: true, mode: 0o755 });
  fs.chmodSync(chrootRoot, 0o755);
  for (const [user, ids] of [[PASSWORD_USER, pw], [KEY_USER, key]] as const) {
    const jail = path.join(chrootRoot, user);
    fs.mkdirSync(jail, { recursive: true, mode: 0o755 });
    fs.chownSync(jail, 0, 0);
    fs.chmodSync(jail, 0o755);
    const upload = path.join(jail, UPLOAD_DIR);
    fs.mkdirSync(upload, { recursive: true, mode: 0o755 });
    fs.chownSync(upload, ids.uid, ids.gid);
  }

  const configPath = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    configPath,
    [
      '# generated by bq-sftp `stack up`; edits are overwritten',
      `Port ${layout.ports.sftp}`,
      `ListenAddress ${layout.host}`,
      `HostKey ${hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${path.join(authorizedKeys, '%u')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AllowUsers ${PASSWORD_USER} ${KEY_USER}`,
      'MaxStartups 100:30:200',
      'MaxSessions 64',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      `Match User ${PASSWORD_USER},${KEY_USER}`,
      `  ChrootDirectory ${path.join(chrootRoot, '%u')}`,
      '  ForceCommand internal-sftp',
      '  AllowTcpForwarding no',
      '  X11Forwarding no',
      '',
    ].join('\n'),
  );
  return {
    configPath,
    hostKeyFingerprint: fingerprintOfPublicKeyLine(hostPub),
    knownHostsLine: `${hostPart} ${keyType} ${keyBlob}`,
    password,
    passphrase,
    privateKeyPath,
    chrootRoot,
  };
}
