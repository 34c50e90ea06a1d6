/**
 * One error class for everything SFTP, with a stable `type` and whether retrying can help.
 * Messages say what happened and what to do; they never carry a password, passphrase or key.
 */

export const SFTP_ERROR_TYPES = {
  SftpAuthFailed: false,
  SftpHostKeyMismatch: false,
  SftpHostKeyNotPinned: false,
  SftpConfigInvalid: false,
  SftpHostUnreachable: true,
  SftpConnectionLost: true,
  SftpPermissionDenied: false,
  SftpNoSuchFile: false,
  SftpDiskFull: true,
  SftpUnsafePath: false,
  SftpAborted: false,
  SftpError: true,
} as const satisfies Record<string, boolean>;

export type SftpErrorType = keyof typeof SFTP_ERROR_TYPES;

export class SftpError extends Error {
  override readonly name = 'SftpError';
  readonly type: SftpErrorType;
  readonly retryable: boolean;

  constructor(type: SftpErrorType, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.type = type;
    this.retryable = options?.retryable ?? SFTP_ERROR_TYPES[type];
  }
}

export function isSftpError(err: unknown, type?: SftpErrorType): err is SftpError {
  return err instanceof SftpError && (type === undefined || err.type === type);
}

/** What the failing operation was about, for the message. */
export interface SftpErrorContext {
  /** e.g. `127.0.0.1:2222` */
  server?: string;
  username?: string;
  /** e.g. `stat`, `open for writing`, `connect` */
  op?: string;
  path?: string;
  /** Strings that must never appear in a message (password, passphrase, key text). */
  secrets?: (string | Buffer | undefined)[];
}

// SFTP status codes (draft-ietf-secsh-filexfer-02 and later drafts).
const FX = {
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  NO_SPACE_ON_FILESYSTEM: 14,
  QUOTA_EXCEEDED: 15,
} as const;

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRNOTAVAIL']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED']);

function where(ctx: SftpErrorContext): string {
  const parts: string[] = [];
  if (ctx.op) parts.push(ctx.op);
  if (ctx.path) parts.push(`"${ctx.path}"`);
  const what = parts.join(' ');
  const server = ctx.server ? ` on ${ctx.server}` : '';
  return what ? `${what}${server}` : ctx.server ?? 'SFTP';
}

/** Replaces every secret (and every line of a multi-line secret such as a key) with `***`. */
export function redactSecrets(text: string, secrets: SftpErrorContext['secrets'] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s === undefined) continue;
    const str = Buffer.isBuffer(s) ? s.toString('utf8') : s;
    const pieces = [str, ...str.split(/\r?\n/)].map((p) => p.trim()).filter((p) => p.length >= 4);
    for (const p of pieces) out = out.split(p).join('***');
  }
  return out;
}

/**
 * Maps anything thrown by ssh2 (transport, auth, SFTP status) or the OS to an SftpError.
 * SftpErrors pass through unchanged.
 */
export function toSftpError(err: unknown, ctx: SftpErrorContext = {}): SftpError {
  if (err instanceof SftpError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const raw = redactSecrets(e.message, ctx.secrets);
  const code = (e as { code?: unknown }).code;
  const level = (e as { level?: unknown }).level;
  const at = where(ctx);
  const server = ctx.server ? ` ${ctx.server}` : '';
  const user = ctx.username ? `"${ctx.username}"` : 'this user';
  const make = (type: SftpErrorType, message: string) => new SftpError(type, redactSecrets(message, ctx.secrets), { cause: e });

  if (e.name === 'AbortError') return make('SftpAborted', `${at} was cancelled.`);

  if (typeof code === 'number') {
    switch (code) {
      case FX.NO_SUCH_FILE:
        return make('SftpNoSuchFile', `${at} failed: no such file or directory (${raw}). Check the path and that the folder exists.`);
      case FX.PERMISSION_DENIED:
        return make(
          'SftpPermissionDenied',
          `${at} failed: permission denied (${raw}). Use a folder that ${user} may write to, or ask the server's administrator for access.`,
        );
      case FX.NO_SPACE_ON_FILESYSTEM:
      case FX.QUOTA_EXCEEDED:
        return make('SftpDiskFull', `${at} failed: the server is out of space or over quota (${raw}). Free space on the server; the transfer is retried.`);
      case FX.NO_CONNECTION:
      case FX.CONNECTION_LOST:
        return make('SftpConnectionLost', `${at} failed: the SFTP connection was lost (${raw}). It is retried with a new connection.`);
      case FX.FAILURE:
        if (/no space|disk full|quota/i.test(raw)) {
          return make('SftpDiskFull', `${at} failed: the server is out of space or over quota (${raw}). Free space on the server; the transfer is retried.`);
        }
        return make('SftpError', `${at} failed: the server answered "${raw}". If it persists, check the path and the server's log.`);
      default:
        return make('SftpError', `${at} failed: the server answered "${raw}" (status ${code}).`);
    }
  }

  if (level === 'client-authentication') {
    return make(
      'SftpAuthFailed',
      `The SFTP server${server} refused the login of ${user} (${raw}). Check the username, the password or private key and its passphrase.`,
    );
  }
  if (/Cannot parse privateKey|does not contain a \(valid\) private key|Encrypted private.*passphrase|bad decrypt|Malformed OpenSSH private key/i.test(raw)) {
    return make(
      'SftpAuthFailed',
      `The private key for ${user} could not be used (${raw.replace(/^Cannot parse privateKey: /, '')}). Check that it is a private key and that the passphrase is right.`,
    );
  }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return make('SftpHostUnreachable', `Cannot reach the SFTP server${server} (${code}). Check the host and port and that the server is up; it is retried.`);
  }
  if (level === 'client-timeout' && /handshake/i.test(raw)) {
    return make('SftpHostUnreachable', `The SFTP server${server} did not complete the SSH handshake in time. Check the host and port (is it an SSH server?) or raise the handshake timeout; it is retried.`);
  }
  if (level === 'client-timeout' || (typeof code === 'string' && LOST_CODES.has(code)) || /No response from server|Not connected|Connection lost|Channel is not open|socket hang up|closed/i.test(raw)) {
    return make('SftpConnectionLost', `${at} failed: the SFTP connection was lost (${raw}). It is retried with a new connection.`);
  }
  if (/ENOSPC|no space left/i.test(raw)) {
    return make('SftpDiskFull', `${at} failed: out of space (${raw}). Free space; the transfer is retried.`);
  }
  return make('SftpError', `${at} failed: ${raw}`);
}
