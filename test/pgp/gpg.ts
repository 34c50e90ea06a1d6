/**
 * GnuPG (Debian's `gpg`) as the independent OpenPGP reader and writer of the tests, each party
 * in its own temporary GNUPGHOME. Keys: ed25519 for signing, cv25519 for encryption.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface GpgParty {
  home: string;
  email: string;
  fingerprint: string;
  passphrase: string;
  publicArmored: string;
  secretArmored: string;
  /** runs gpg in this party's home; returns stdout; throws with stderr on a non-zero exit */
  gpg(args: string[], input?: Buffer): Buffer;
  /** like gpg() but never throws */
  gpgRaw(args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string };
}

const roots: string[] = [];
process.once('exit', () => {
  for (const r of roots) {
    // the gpg-agent each home started, then the home itself
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: r } });
    fs.rmSync(r, { recursive: true, force: true });
  }
});

export function gpgParty(name: string, opts: { passphrase?: string; expire?: string; fakedTime?: string } = {}): GpgParty {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `bqsftp-gpg-${name}-`));
  roots.push(home);
  fs.chmodSync(home, 0o700);
  const passphrase = opts.passphrase ?? '';
  const email = `${name}@example.com`;
  const base = ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', passphrase, '--trust-model', 'always'];
  const gpgRaw = (args: string[], input?: Buffer) => {
    const r = spawnSync('gpg', [...base, ...args], { env: { ...process.env, GNUPGHOME: home }, input, maxBuffer: 1 << 30 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  };
  const gpg = (args: string[], input?: Buffer) => {
    const r = gpgRaw(args, input);
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const faked = opts.fakedTime ? ['--faked-system-time', opts.fakedTime] : [];
  const expire = opts.expire ?? '1y';
  gpg([...faked, '--quick-gen-key', `${name} <${email}>`, 'ed25519', 'sign', expire]);
  const fingerprint = gpg(['--with-colons', '--list-keys', email]).toString().split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  gpg([...faked, '--quick-add-key', fingerprint, 'cv25519', 'encr', expire]);
  return {
    home,
    email,
    fingerprint,
    passphrase,
    publicArmored: gpg(['--armor', '--export', fingerprint]).toString(),
    secretArmored: gpg(['--armor', '--export-secret-keys', fingerprint]).toString(),
    gpg,
    gpgRaw,
  };
}

/** Imports `other`'s public key into `party`'s keyring. */
export function trust(party: GpgParty, other: GpgParty): void {
  party.gpg(['--import'], Buffer.from(other.publicArmored));
}

export function hasGpg(): boolean {
  try {
    execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `[GNUPG:] VALIDSIG <fpr> …` lines of a `--status-fd 1` run: the fingerprints whose signatures verified. */
export function validSigners(status: string): string[] {
  return status.split('\n').filter((l) => l.startsWith('[GNUPG:] VALIDSIG ')).map((l) => l.split(' ')[2]);
}
