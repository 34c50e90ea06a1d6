/** Host keys: fingerprints, known_hosts lines, and matching a server's key against a pin. */
import { createHash } from 'node:crypto';
import { SftpError } from './errors';

export interface HostKeyInfo {
  /** e.g. `ssh-ed25519` */
  type: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it */
  fingerprint: string;
  /** the line to put in known_hosts (or in the config's `host_key`) */
  knownHostsLine: string;
}

/** OpenSSH's SHA256 fingerprint of a public key blob. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type, which is the first SSH string inside the blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len <= 0 || len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('ascii');
}

/** `host` for port 22, `[host]:port` otherwise, like ssh-keyscan writes it. */
export function knownHostsHost(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function describeHostKey(keyBlob: Buffer, host: string, port: number): HostKeyInfo {
  const type = keyTypeOf(keyBlob);
  return {
    type,
    fingerprint: fingerprintOf(keyBlob),
    knownHostsLine: `${knownHostsHost(host, port)} ${type} ${keyBlob.toString('base64')}`,
  };
}

/** A parsed `hostKey` setting: one or more fingerprints and/or known_hosts lines (one a line). */
export interface HostKeyPin {
  fingerprints: string[];
  /** key types named by known_hosts lines, to offer those host key algorithms first */
  keyTypes: string[];
  matches(keyBlob: Buffer): boolean;
  describe(): string;
}

const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
const KEY_TYPE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+|rsa-sha2-(256|512))(@openssh\.com)?$/;

function pinError(problem: string): SftpError {
  return new SftpError(
    'SftpConfigInvalid',
    `The pinned host key is not usable: ${problem}. Use the SHA256 fingerprint or the known_hosts line that \`bq-sftp sftp check\` prints.`,
  );
}

function parseKnownHostsLine(line: string): { type: string; blob: Buffer } {
  const fields = line.split(/\s+/);
  if (fields[0]?.startsWith('@')) {
    if (fields[0] === '@revoked') throw pinError('a @revoked line cannot pin a key');
    fields.shift();
  }
  // [hosts] keytype base64 [comment]: the hosts field is optional in a pin.
  const typeAt = KEY_TYPE.test(fields[0] ?? '') ? 0 : 1;
  const type = fields[typeAt];
  const b64 = fields[typeAt + 1];
  if (!type || !KEY_TYPE.test(type) || !b64 || !/^[A-Za-z0-9+/]+={0,3}$/.test(b64)) {
    throw pinError(`"${line.slice(0, 60)}" is neither SHA256:<base64> nor a known_hosts line`);
  }
  const blob = Buffer.from(b64, 'base64');
  if (keyTypeOf(blob) !== type) throw pinError(`the key in "${line.slice(0, 60)}…" is not a ${type} key`);
  return { type, blob };
}

export function parseHostKeyPin(setting: string): HostKeyPin {
  const lines = setting
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (!lines.length) throw pinError('it is empty');
  const fingerprints = new Set<string>();
  const keyTypes = new Set<string>();
  for (const line of lines) {
    const m = FINGERPRINT.exec(line);
    if (m) {
      fingerprints.add(`SHA256:${m[1]}`);
      continue;
    }
    const { type, blob } = parseKnownHostsLine(line);
    fingerprints.add(fingerprintOf(blob));
    keyTypes.add(type);
  }
  return {
    fingerprints: [...fingerprints],
    keyTypes: [...keyTypes],
    matches: (keyBlob) => fingerprints.has(fingerprintOf(keyBlob)),
    describe: () => [...fingerprints].join(' or '),
  };
}
