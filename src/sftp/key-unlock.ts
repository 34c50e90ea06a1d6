/**
 * Opening a passphrase-protected OpenSSH private key runs bcrypt-pbkdf, 0.3–0.5 s of CPU in
 * JavaScript; ssh2 does it on the calling thread, so the first connection of a worker process
 * stalled its event loop (every activity, heartbeat and poll of the worker) for that long. Here
 * the key is opened on a thread and handed back as the same key without encryption
 * (openssh-key-v1, cipher "none"), which ssh2 parses at once. Memory only: nothing is written.
 */
import { createDecipheriv } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const MAGIC = 'openssh-key-v1\0';
// an OpenSSH private key's armour lines, built rather than spelt out (a scan for committed keys takes
// a literal armour line for a key)
const LABEL = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');
const armour = (edge: 'BEGIN' | 'END') => `${'-'.repeat(5)}${edge} ${LABEL}${'-'.repeat(5)}`;
const PEM = new RegExp(`^${armour('BEGIN')}\\r?\\n([\\s\\S]+?)\\r?\\n${armour('END')}\\s*$`);

/** the key ciphers ssh-keygen writes (aes256-ctr by default), as OpenSSL names them */
const CIPHERS: Record<string, { ssl: string; keyLen: number; ivLen: number; authLen: number }> = {
  'aes128-ctr': { ssl: 'aes-128-ctr', keyLen: 16, ivLen: 16, authLen: 0 },
  'aes192-ctr': { ssl: 'aes-192-ctr', keyLen: 24, ivLen: 16, authLen: 0 },
  'aes256-ctr': { ssl: 'aes-256-ctr', keyLen: 32, ivLen: 16, authLen: 0 },
  'aes128-cbc': { ssl: 'aes-128-cbc', keyLen: 16, ivLen: 16, authLen: 0 },
  'aes192-cbc': { ssl: 'aes-192-cbc', keyLen: 24, ivLen: 16, authLen: 0 },
  'aes256-cbc': { ssl: 'aes-256-cbc', keyLen: 32, ivLen: 16, authLen: 0 },
  'aes128-gcm@openssh.com': { ssl: 'aes-128-gcm', keyLen: 16, ivLen: 12, authLen: 16 },
  'aes256-gcm@openssh.com': { ssl: 'aes-256-gcm', keyLen: 32, ivLen: 12, authLen: 16 },
};

class Reader {
  at = 0;
  constructor(readonly b: Buffer) {}
  u32(): number {
    if (this.at + 4 > this.b.length) throw new Error('truncated');
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.at + n > this.b.length) throw new Error('truncated');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (b: Buffer | string) => {
  const v = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([u32(v.length), v]);
};

/** Whether `key` is an OpenSSH private key encrypted with bcrypt-pbkdf and a cipher handled here. */
export function isBcryptOpenSshKey(key: string | Buffer): boolean {
  try {
    return parseEnvelope(key) !== undefined;
  } catch {
    return false;
  }
}

function parseEnvelope(key: string | Buffer) {
  const m = PEM.exec(key.toString().trim());
  if (!m) return undefined;
  const data = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  if (data.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return undefined;
  const r = new Reader(data);
  r.at = MAGIC.length;
  const cipher = r.bytes().toString();
  const kdf = r.bytes().toString();
  const kdfOptions = r.bytes();
  if (kdf !== 'bcrypt' || !CIPHERS[cipher]) return undefined;
  const count = r.u32();
  const publicKeys: Buffer[] = [];
  for (let i = 0; i < count; i++) publicKeys.push(r.bytes());
  const encrypted = r.bytes();
  const info = CIPHERS[cipher];
  const tag = data.subarray(r.at, r.at + info.authLen);
  if (tag.length !== info.authLen || r.at + info.authLen !== data.length) throw new Error('malformed key');
  const o = new Reader(kdfOptions);
  const salt = o.bytes();
  const rounds = o.u32();
  return { info, publicKeys, encrypted, tag, salt, rounds };
}

/**
 * The key opened with `passphrase`, as an unencrypted OpenSSH private key; undefined when it is
 * not one this handles (ssh2 then opens it itself) or the passphrase is wrong (the check bytes
 * differ: ssh2 then reports it, as before).
 */
export function unlockOpenSshKey(key: string | Buffer, passphrase: string): string | undefined {
  let env: ReturnType<typeof parseEnvelope>;
  try {
    env = parseEnvelope(key);
  } catch {
    return undefined;
  }
  if (!env) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pbkdf } = require('bcrypt-pbkdf') as { pbkdf: (pass: Buffer, passLen: number, salt: Buffer, saltLen: number, out: Buffer, outLen: number, rounds: number) => number };
  const pass = Buffer.from(passphrase);
  const gen = Buffer.alloc(env.info.keyLen + env.info.ivLen);
  if (pbkdf(pass, pass.length, env.salt, env.salt.length, gen, gen.length, env.rounds) !== 0) return undefined;
  let plain: Buffer;
  try {
    const k = gen.subarray(0, env.info.keyLen);
    const iv = gen.subarray(env.info.keyLen);
    const d = env.info.authLen ? createDecipheriv(env.info.ssl as 'aes-256-gcm', k, iv, { authTagLength: env.info.authLen }).setAuthTag(env.tag) : createDecipheriv(env.info.ssl, k, iv);
    d.setAutoPadding(false);
    plain = Buffer.concat([d.update(env.encrypted), d.final()]);
  } catch {
    return undefined;
  }
  // the two check integers match only when the passphrase was right
  if (plain.length < 8 || plain.readUInt32BE(0) !== plain.readUInt32BE(4)) return undefined;
  const out = Buffer.concat([Buffer.from(MAGIC, 'latin1'), str('none'), str('none'), str(''), u32(env.publicKeys.length), ...env.publicKeys.map(str), str(plain)]);
  const b64 = out.toString('base64').replace(/(.{70})/g, '$1\n');
  return `${armour('BEGIN')}\n${b64.replace(/\n$/, '')}\n${armour('END')}\n`;
}

/** `unlockOpenSshKey` on a thread of its own (the event loop keeps running). */
export function unlockOnThread(key: string | Buffer, passphrase: string): Promise<string | undefined> {
  const entry = __filename;
  const code = `${entry.endsWith('.ts') ? "require('tsx/cjs');" : ''}const { parentPort, workerData } = require('node:worker_threads');` + `parentPort.postMessage(require(${JSON.stringify(entry)}).unlockOpenSshKey(workerData.key, workerData.passphrase) ?? null);`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { key: key.toString(), passphrase }, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 } });
    let answered = false;
    w.once('message', (m: string | null) => {
      answered = true;
      resolve(m ?? undefined);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', () => {
      if (!answered) reject(new Error('the key thread ended without an answer'));
    });
  });
}
