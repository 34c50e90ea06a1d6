import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import type { StackInfo } from '../src/stack/stack-info';

/**
 * OpenSSH's own `sftp` as the reference: batch mode needs a key without a passphrase, so the
 * bench works with a decrypted copy of the key user's key, in the git-ignored .bench/ folder.
 */
/** A short tag of the stack: bench files that depend on it (config, key copy) are kept apart per stack. */
export function stackTag(info: StackInfo): string {
  return crypto.createHash('sha256').update(`${info.gcs.endpoint} ${info.sftp.port} ${info.sftp.keyUser.privateKeyPath}`).digest('hex').slice(0, 8);
}

export function referenceKey(info: StackInfo, benchDir: string): string {
  const copy = path.join(benchDir, `ref_key-${stackTag(info)}`);
  if (!fs.existsSync(copy)) {
    fs.copyFileSync(info.sftp.keyUser.privateKeyPath, copy);
    fs.chmodSync(copy, 0o600);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', info.sftp.keyUser.passphrase, '-N', '', '-f', copy]);
  }
  // the same host key under the port of the bench's latency proxy too
  const known = path.join(benchDir, `known_hosts-${stackTag(info)}`);
  const viaProxy = info.sftp.knownHostsLine.replace(/^\S+/, '[127.0.0.1]:*');
  fs.writeFileSync(known, `${info.sftp.knownHostsLine}\n${viaProxy}\n`);
  return copy;
}

let referenceCipher: string | undefined;
/** The cipher every later sftpBatch asks for (`sftp -c`), so the reference uses the cipher ours does. */
export function setReferenceCipher(cipher: string | undefined): void {
  referenceCipher = cipher;
}

/** Runs an sftp batch as the key user; returns wall seconds. `cipher` null: OpenSSH's own default. */
export function sftpBatch(info: StackInfo, benchDir: string, commands: string[], port = info.sftp.port, cipher: string | null | undefined = referenceCipher): number {
  const key = referenceKey(info, benchDir);
  const batch = path.join(benchDir, `batch-${process.pid}.txt`);
  fs.writeFileSync(batch, `${commands.join('\n')}\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sftp', ['-q', ...(cipher ? ['-c', cipher] : []), '-b', batch, '-i', key, '-P', String(port),
    '-o', `UserKnownHostsFile=${path.join(benchDir, `known_hosts-${stackTag(info)}`)}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
    `${info.sftp.keyUser.username}@${info.sftp.host}`], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`sftp batch failed: ${r.stderr}`);
  return seconds;
}
