/**
 * What the native writer (./native-writer) needs from the keys, made with OpenPGP.js: the session
 * key and its PKESK packets for the recipients, and our signing key's material as a Node
 * KeyObject. `undefined` whenever the message is one the native writer does not write (a v6 key,
 * recipients who all ask for SEIPD v2, a cipher other than AES, a signing algorithm other than
 * Ed25519 and RSA): the caller then lets OpenPGP.js write it.
 */
import crypto from 'node:crypto';
import * as openpgp from 'openpgp';
import type { NativeEncryptionPlan, NativeSigner } from './native-writer';

const PK = { rsaEncryptSign: 1, rsaSign: 3, eddsaLegacy: 22, ed25519: 27 } as const;
const CFB: Record<string, { cipher: string; keyBytes: number }> = {
  aes128: { cipher: 'aes-128-cfb', keyBytes: 16 },
  aes192: { cipher: 'aes-192-cfb', keyBytes: 24 },
  aes256: { cipher: 'aes-256-cfb', keyBytes: 32 },
};

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const toBigInt = (b: Uint8Array) => (b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n);
function fromBigInt(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

const signers = new WeakMap<openpgp.PrivateKey, Promise<NativeSigner | undefined>>();

type Params = Record<string, Uint8Array | { getName?(): string } | undefined>;

/** Our signing (sub)key's material as a Node key, for the algorithms the native writer signs with. */
export function nativeSigner(keyPacket: openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket): NativeSigner | undefined {
  if (keyPacket.version !== 4 || !keyPacket.isDecrypted()) return undefined;
  const pub = keyPacket.publicParams as Params;
  const priv = keyPacket.privateParams as Params | null;
  if (!priv) return undefined;
  const algorithm = Number(keyPacket.algorithm);
  const keyId = Buffer.from(keyPacket.getKeyID().toHex(), 'hex');
  const fingerprint = Buffer.from(keyPacket.getFingerprintBytes() ?? []);
  if (fingerprint.length !== 20) return undefined;
  if (algorithm === PK.eddsaLegacy || algorithm === PK.ed25519) {
    const seed = priv.seed as Uint8Array | undefined;
    const curve = (pub.oid as { getName?(): string } | undefined)?.getName?.();
    // legacy EdDSA: Q = 0x40 ‖ the 32-byte public key; RFC 9580 Ed25519: A
    const q = algorithm === PK.eddsaLegacy ? (pub.Q as Uint8Array | undefined)?.subarray(1) : (pub.A as Uint8Array | undefined);
    if (!seed || seed.length !== 32 || !q || q.length !== 32) return undefined;
    if (algorithm === PK.eddsaLegacy && curve !== 'ed25519Legacy') return undefined;
    const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(q) }, format: 'jwk' });
    return { algorithm, keyId, fingerprint, kind: algorithm === PK.ed25519 ? 'ed25519' : 'eddsa-legacy', key };
  }
  if (algorithm === PK.rsaEncryptSign || algorithm === PK.rsaSign) {
    const { n, e } = pub as Record<string, Uint8Array | undefined>;
    const { d, p, q, u } = priv as Record<string, Uint8Array | undefined>;
    if (!n || !e || !d || !p || !q || !u) return undefined;
    const D = toBigInt(d);
    // OpenPGP keeps p < q and u = p⁻¹ mod q; PKCS #1 wants qInv = q⁻¹ mod p: swap the primes
    const key = crypto.createPrivateKey({
      key: {
        kty: 'RSA',
        n: b64url(n),
        e: b64url(e),
        d: b64url(d),
        p: b64url(q),
        q: b64url(p),
        dp: b64url(fromBigInt(D % (toBigInt(q) - 1n))),
        dq: b64url(fromBigInt(D % (toBigInt(p) - 1n))),
        qi: b64url(u),
      },
      format: 'jwk',
    });
    return { algorithm, keyId, fingerprint, kind: 'rsa', key };
  }
  return undefined;
}

/** The session key, its PKESK packets and the signer, when the native writer can write the message. */
export async function nativeEncryptionPlan(encryptionKeys: openpgp.PublicKey[], signingKey?: openpgp.PrivateKey): Promise<NativeEncryptionPlan | undefined> {
  if (encryptionKeys.length === 0) return undefined;
  let signer: NativeSigner | undefined;
  if (signingKey) {
    // once per key, not per file (the key's self-signatures are checked to pick the signing subkey)
    let found = signers.get(signingKey);
    if (!found) {
      found = signingKey.keyPacket.version !== 4 ? Promise.resolve(undefined) : signingKey.getSigningKey().then((k) => nativeSigner(k.keyPacket as openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket));
      found.catch(() => signers.delete(signingKey));
      signers.set(signingKey, found);
    }
    signer = await found;
    if (!signer) return undefined;
  }
  const session = await openpgp.generateSessionKey({ encryptionKeys });
  const cfb = CFB[session.algorithm];
  if (session.aeadAlgorithm || !cfb || session.data.length !== cfb.keyBytes) return undefined;
  const pkesk = await openpgp.encryptSessionKey({ ...session, encryptionKeys, format: 'binary' });
  return { pkesk: Buffer.from(pkesk), cipher: cfb.cipher, sessionKey: Buffer.from(session.data), signer };
}
