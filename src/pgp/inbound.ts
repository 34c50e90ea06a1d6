/**
 * Inbound OpenPGP files (what partners send us): a file named `*.pgp`, `*.gpg` or `*.asc` is
 * decrypted with our key (top-level `pgp.decryption_private_key`) while it streams and, when
 * `pgp.verification_keys` is set, must carry a valid signature by one of those keys. Failures
 * are `PgpError`s (permanent, naming the file and the key id); a missing key config is a
 * ConfigError naming the field.
 *
 * Two ways for a family to use it:
 * - `inboundStream(config, path, source)`: wrap the SFTP read stream before parsing (ingest's
 *   file sync). Commit what was read only when the stream ended without error: a bad signature
 *   or a tampered byte is only known at the end.
 * - `decryptRemoteFile(config, session, dir, name)`: SFTP → SFTP, `<dir>/<x>.pgp` decrypted to
 *   `<dir>/<x>`, published atomically (temp name, then rename), the encrypted file removed (the
 *   inbox, whose downstream API reads the claimed file by path).
 */
import type { Readable } from 'node:stream';
import { isConfigError, type Config } from '../config';
import type { SftpSession } from '../sftp';
import { stripPgpSuffix } from './config';
import { usableInboundKeys } from './keys';
import { decryptingStream, isPgpError } from './streams';

export { stripPgpSuffix, PGP_INBOUND_SUFFIXES } from './config';
export { PgpError, isPgpError } from './streams';

export function isPgpFileName(name: string): boolean {
  return stripPgpSuffix(name) !== undefined;
}

/**
 * `source` as plaintext: decrypted (and verified) when `fileName` ends in .pgp/.gpg/.asc, else
 * unchanged. `name` is the file name without the OpenPGP suffix.
 */
export async function inboundStream(config: Config, fileName: string, source: Readable): Promise<{ name: string; stream: Readable; encrypted: boolean }> {
  const plainName = stripPgpSuffix(fileName);
  if (plainName === undefined) return { name: fileName, stream: source, encrypted: false };
  let keys;
  try {
    keys = await usableInboundKeys(config);
  } catch (err) {
    source.destroy();
    throw err;
  }
  const stream = decryptingStream(source, { fileName, decryptionKey: keys.decryptionKey!, verificationKeys: keys.verificationKeys });
  return { name: plainName, stream, encrypted: true };
}

/**
 * Decrypts `<dir>/<name>` (an OpenPGP file) into `<dir>/<name without suffix>` on the same SFTP
 * server, atomically; removes the encrypted file unless `keepEncrypted`. Nothing is published
 * under the plaintext name when decryption or the signature check fails.
 */
export async function decryptRemoteFile(
  config: Config,
  session: SftpSession,
  dir: string,
  name: string,
  opts: {
    tempSuffix?: string;
    signal?: AbortSignal;
    keepEncrypted?: boolean;
    /** publish the plaintext into this folder instead of `dir` */
    targetDir?: string;
    /** under this name instead of `name` without its suffix */
    targetName?: string;
  } = {},
): Promise<{ name: string; bytes: number }> {
  const path = `${dir.replace(/\/$/, '')}/${name}`;
  const { name: plainName, stream, encrypted } = await inboundStream(config, path, session.createReadStream(path));
  if (!encrypted) {
    stream.destroy();
    return { name, bytes: -1 };
  }
  const target = opts.targetName ?? plainName.slice(plainName.lastIndexOf('/') + 1);
  // the SFTP layer would report a failed source as an upload error: keep the PgpError (permanent, names the file)
  let pgpError: Error | undefined;
  stream.once('error', (e: Error) => {
    if (isPgpError(e) || isConfigError(e)) pgpError = e;
  });
  const r = await session.publishStream(stream, opts.targetDir ?? dir, target, { tempSuffix: opts.tempSuffix ?? '.partial', signal: opts.signal }).catch((err: unknown) => {
    throw pgpError ?? err;
  });
  if (!opts.keepEncrypted) await session.remove(path);
  return { name: target, bytes: r.bytes };
}
