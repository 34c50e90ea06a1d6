/**
 * Peers for the bench (issue 20): rclone — the tool a user would pick for copying a GCS prefix to
 * SFTP — on the same stack, the same objects and the same cipher, and the mixed memory case.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { StackInfo } from '../src/stack/stack-info';
import { referenceKey, stackTag } from './reference';

export const RCLONE_VERSION = 'v1.76.0';

/**
 * rclone's best settings per case, found by trying them on this stack (see README "Speed"):
 * - one large object: rclone's multi-thread copy (ranged reads, writes at offsets over several
 *   SFTP connections, like ours) with 4 streams, 255 KiB WRITEs (OpenSSH's largest), 64 in flight;
 * - many small objects: 16 transfers (more did not help), 64 requests in flight per file.
 * Both: no listing of the (empty) destination, no remote hash command (internal-sftp has no
 * shell, rclone would try `md5sum` once and fall back), the object's mtime set like ours.
 */
export const RCLONE_SETTINGS = {
  large: ['--transfers', '1', '--multi-thread-streams', '4', '--multi-thread-cutoff', '64M', '--sftp-chunk-size', '255k', '--sftp-concurrency', '64', '--no-traverse', '--sftp-disable-hashcheck'],
  small: ['--transfers', '16', '--checkers', '16', '--sftp-concurrency', '64', '--no-traverse', '--sftp-disable-hashcheck'],
} as const;

/** Builds rclone once (scripts/build-rclone.sh, cached in .tools/ with a version marker); its path. */
export function ensureRclone(root: string, log: (s: string) => void): string {
  const bin = path.join(root, '.tools', 'bin', 'rclone');
  const marker = path.join(root, '.tools', 'versions', 'rclone');
  const cached = fs.existsSync(bin) && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === RCLONE_VERSION;
  if (!cached) {
    log(`building rclone ${RCLONE_VERSION} (once; minutes on 2 cores) …`);
    const r = spawnSync('bash', [path.join(root, 'scripts', 'build-rclone.sh')], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RCLONE_VERSION } });
    if (r.status !== 0) throw new Error('building rclone failed (see .tools/logs/rclone.log)');
  }
  return bin;
}

/**
 * `rclone copy :gcs,…:bucket/prefix :sftp,…:/folder` as the key user, with `cipher`; returns wall
 * seconds (process start to exit, like OpenSSH's sftp).
 */
export function rcloneCopy(opts: {
  bin: string;
  info: StackInfo;
  benchDir: string;
  prefix: string;
  remoteDir: string;
  cipher?: string;
  settings: readonly string[];
}): number {
  const { info } = opts;
  const key = referenceKey(info, opts.benchDir);
  const known = path.join(opts.benchDir, `known_hosts-${stackTag(info)}`);
  const src = `:gcs,endpoint='${info.gcs.endpoint}/storage/v1/',anonymous=true,bucket_policy_only=true:${info.gcs.bucket}/${opts.prefix.replace(/\/$/, '')}`;
  const dst =
    `:sftp,host=${info.sftp.host},port=${info.sftp.port},user=${info.sftp.keyUser.username},key_file='${key}',known_hosts_file='${known}'` +
    `${opts.cipher ? `,ciphers=${opts.cipher}` : ''}:${opts.remoteDir}`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(opts.bin, ['copy', src, dst, '--config', '/dev/null', '--stats', '0', '-q', ...opts.settings], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`rclone copy failed: ${r.stderr}`);
  return seconds;
}
