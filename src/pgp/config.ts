/**
 * OpenPGP config: the `pgp` block of an export (outbound: encrypt to the partner, sign with ours)
 * and the top-level `pgp` block (inbound: our decryption key, the partners' verification keys).
 *
 * A key field holds either the armored key text (`-----BEGIN PGP ... KEY BLOCK-----`, also via
 * `{"env": "VAR"}`) or, in the `*_path` fields, a file with the key (armored or binary).
 * Secret fields are named `*_private_key` / `passphrase`, so redaction and
 * BQSFTP_REQUIRE_SECRET_REFS treat them as secrets. Key material is parsed at run time
 * (src/pgp/keys.ts): expiry and usability are checked by `bq-sftp pgp check` and before a
 * transfer moves a byte. No Node built-ins here (workflow code may import the types).
 */
import { z } from 'zod';

export const DEFAULT_PGP_SUFFIX = '.pgp';
/** Names of inbound files that are OpenPGP messages; the suffix is removed after decryption. */
export const PGP_INBOUND_SUFFIXES = ['.pgp', '.gpg', '.asc'] as const;

const PUBLIC_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----/;
const PRIVATE_BLOCK = /-----BEGIN PGP PRIVATE KEY BLOCK-----/;

function controlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Armored public key text, or a path to a key file (armored or binary). */
const publicKeySource = z
  .string()
  .min(1, 'must be an armored public key (-----BEGIN PGP PUBLIC KEY BLOCK-----) or the path of a key file')
  .refine((s) => !PRIVATE_BLOCK.test(s), 'is a PRIVATE key: give the partner\'s PUBLIC key here (gpg --armor --export <id>)')
  .refine(
    (s) => PUBLIC_BLOCK.test(s) || PRIVATE_BLOCK.test(s) || (!s.includes('\n') && !s.startsWith('-----')),
    'must be an armored public key (-----BEGIN PGP PUBLIC KEY BLOCK-----) or the path of a key file',
  );

const privateKeyText = z
  .string()
  .refine((s) => PRIVATE_BLOCK.test(s), 'must be an armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----), e.g. {"env": "PGP_SIGNING_KEY"}');

const keyPath = z.string().min(1, 'must be the path of a key file').refine((s) => !controlChars(s), 'must not contain control characters');

const suffix = z
  .string()
  .min(1, "must not be empty (e.g. '.pgp')")
  .max(32, 'must be at most 32 characters')
  .refine((s) => !s.includes('/') && !s.includes('\\') && !controlChars(s), "must not contain '/', '\\' or control characters");

const has = (v: unknown) => v !== undefined && v !== '';
const RUN_ALWAYS = {
  when: (payload: { value: unknown }) => payload.value !== null && typeof payload.value === 'object' && !Array.isArray(payload.value),
};

/** `exports.<name>.pgp`: encrypt (and sign) every file while streaming it to SFTP. */
export const pgpDeliveryObjectSchema = z.strictObject({
  /** the partners' public keys (each armored text or a key file's path); the file is encrypted to all of them */
  recipients: z.array(publicKeySource).min(1, 'must list at least one public key to encrypt to'),
  /** our signing key, armored (normally {"env": …}); or `signing_private_key_path` */
  signing_private_key: privateKeyText.optional(),
  signing_private_key_path: keyPath.optional(),
  /** the signing key's passphrase (normally {"env": …}) */
  passphrase: z.string().min(1, 'must not be empty (leave it out for a key without passphrase)').optional(),
  /** sign the files (default: whenever a signing key is set) */
  sign: z.boolean().optional(),
  /** ASCII armor instead of binary OpenPGP */
  armor: z.boolean().default(false),
  /** appended to each file name on SFTP */
  suffix: suffix.default(DEFAULT_PGP_SUFFIX),
});

function checkSigning(p: z.output<typeof pgpDeliveryObjectSchema>, ctx: z.RefinementCtx): void {
  const hasKey = has(p.signing_private_key) || has(p.signing_private_key_path);
  if (has(p.signing_private_key) && has(p.signing_private_key_path)) {
    ctx.addIssue({ code: 'custom', path: ['signing_private_key_path'], message: 'set either signing_private_key or signing_private_key_path, not both' });
  }
  if (p.sign === true && !hasKey) {
    ctx.addIssue({ code: 'custom', path: ['signing_private_key'], message: 'required when sign is true: set signing_private_key ({"env": …}) or signing_private_key_path' });
  }
  if (has(p.passphrase) && !hasKey) {
    ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'is set but no signing key is: set signing_private_key or signing_private_key_path too' });
  }
}

export const pgpDeliverySchema = pgpDeliveryObjectSchema.superRefine(checkSigning, RUN_ALWAYS);

/**
 * `backups.<name>.pgp`: an export's block, plus the key that reads the backup back (verify,
 * restore). The backup is encrypted to the recipients and to that key, so `recipients` may be
 * empty (a backup only we can read). Without `decryption_private_key(_path)` here, the top-level
 * `pgp.decryption_private_key` is used; with neither, the config is refused (src/backup/config.ts).
 */
export const pgpBackupObjectSchema = pgpDeliveryObjectSchema.extend({
  /** partners' (or an escrow) public keys besides our own decryption key; may be empty */
  recipients: z.array(publicKeySource).default([]),
  /** the private key verify and restore decrypt with, armored (normally {"env": …}); or `decryption_private_key_path` */
  decryption_private_key: privateKeyText.optional(),
  decryption_private_key_path: keyPath.optional(),
  /** the decryption key's passphrase (normally {"env": …}) */
  decryption_passphrase: z.string().min(1, 'must not be empty (leave it out for a key without passphrase)').optional(),
});

export const pgpBackupSchema = pgpBackupObjectSchema.superRefine((p, ctx) => {
  checkSigning(p, ctx);
  if (has(p.decryption_private_key) && has(p.decryption_private_key_path)) {
    ctx.addIssue({ code: 'custom', path: ['decryption_private_key_path'], message: 'set either decryption_private_key or decryption_private_key_path, not both' });
  }
  if (has(p.decryption_passphrase) && !has(p.decryption_private_key) && !has(p.decryption_private_key_path)) {
    ctx.addIssue({ code: 'custom', path: ['decryption_passphrase'], message: 'is set but no decryption key is: set decryption_private_key or decryption_private_key_path too' });
  }
}, RUN_ALWAYS);

/** Top-level `pgp`: how files partners send us are decrypted and whose signatures they need. */
export const pgpInboundObjectSchema = z.strictObject({
  /** our decryption key, armored (normally {"env": …}); or `decryption_private_key_path` */
  decryption_private_key: privateKeyText.optional(),
  decryption_private_key_path: keyPath.optional(),
  passphrase: z.string().min(1, 'must not be empty (leave it out for a key without passphrase)').optional(),
  /** the partners' public keys: when any is set, every inbound file must carry a valid signature by one of them */
  verification_keys: z.array(publicKeySource).default([]),
});

export const pgpInboundSchema = pgpInboundObjectSchema.superRefine((p, ctx) => {
  if (has(p.decryption_private_key) && has(p.decryption_private_key_path)) {
    ctx.addIssue({ code: 'custom', path: ['decryption_private_key_path'], message: 'set either decryption_private_key or decryption_private_key_path, not both' });
  }
  if (has(p.passphrase) && !has(p.decryption_private_key) && !has(p.decryption_private_key_path)) {
    ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'is set but no decryption key is: set decryption_private_key or decryption_private_key_path too' });
  }
}, RUN_ALWAYS);

export type PgpDeliveryConfig = z.output<typeof pgpDeliverySchema>;
export type PgpInboundConfig = z.output<typeof pgpInboundSchema>;
export type PgpBackupConfig = z.output<typeof pgpBackupSchema>;

/** For "did you mean" hints on unknown keys (STRICT_OBJECTS in src/config/schema.ts). */
export const PGP_STRICT_OBJECTS: Record<string, { shape: object }> = {
  'exports.*.pgp': pgpDeliveryObjectSchema,
  'backups.*.pgp': pgpBackupObjectSchema,
  pgp: pgpInboundObjectSchema,
};

/** `report.csv.pgp` → `report.csv`; undefined when the name has no OpenPGP suffix. */
export function stripPgpSuffix(name: string): string | undefined {
  const lower = name.toLowerCase();
  const s = PGP_INBOUND_SUFFIXES.find((x) => lower.endsWith(x) && name.length > x.length);
  return s ? name.slice(0, -s.length) : undefined;
}
