import fs from 'node:fs';
import path from 'node:path';
import type { SftpEndpoint } from '../../../src/sftp';
import { stack, uniqueId } from '../../helpers/stack';

export type UserKind = 'password' | 'key + passphrase';
export const USER_KINDS: UserKind[] = ['password', 'key + passphrase'];

export function endpointFor(kind: UserKind, overrides: Partial<SftpEndpoint> = {}): SftpEndpoint {
  const info = stack();
  const base = { host: info.sftp.host, port: info.sftp.port, hostKey: info.sftp.hostKeyFingerprint, readyTimeoutMs: 10_000 };
  if (kind === 'password') {
    return { ...base, username: info.sftp.passwordUser.username, password: info.sftp.passwordUser.password, ...overrides };
  }
  const u = info.sftp.keyUser;
  return { ...base, username: u.username, privateKey: fs.readFileSync(u.privateKeyPath, 'utf8'), passphrase: u.passphrase, ...overrides };
}

export function userOf(kind: UserKind) {
  const info = stack();
  return kind === 'password' ? info.sftp.passwordUser : info.sftp.keyUser;
}

/** The local file behind an SFTP path of that user (users are jailed in their localRoot). */
export function localPath(kind: UserKind, remote: string): string {
  return path.join(userOf(kind).localRoot, remote);
}

/** A fresh folder `/upload/<prefix>-<random>` for one test (created locally, owned by the user). */
export function freshRemoteDir(kind: UserKind, prefix = 'sftptest'): string {
  const remote = `/upload/${uniqueId(prefix)}`;
  const local = localPath(kind, remote);
  fs.mkdirSync(local, { recursive: true });
  const owner = fs.statSync(path.dirname(local));
  fs.chownSync(local, owner.uid, owner.gid);
  return remote;
}

export function removeRemoteDir(kind: UserKind, remote: string): void {
  fs.rmSync(localPath(kind, remote), { recursive: true, force: true });
}

export function listLocal(kind: UserKind, remote: string): string[] {
  const p = localPath(kind, remote);
  return fs.existsSync(p) ? fs.readdirSync(p).sort() : [];
}
