import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { SftpError, toSftpError } from './errors';
import { secretsOf, serverLabel, type SftpEndpoint } from './endpoint';
import { describeHostKey, parseHostKeyPin, type HostKeyPin } from './host-key';
import { SftpSession, type NegotiatedAlgorithms } from './session';
import { openPrivateKey } from './key-cache';

export interface ConnectOptions {
  /** server extensions to treat as absent (servers with a broken implementation; tests) */
  disabledExtensions?: string[];
}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-dss': ['ssh-dss'],
};

function configError(message: string): SftpError {
  return new SftpError('SftpConfigInvalid', message);
}

function checkEndpoint(ep: SftpEndpoint): HostKeyPin | undefined {
  if (!ep.host) throw configError('No SFTP host is set: pass --host, or set sftp.host / SFTP_HOST.');
  if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) throw configError(`The SFTP port ${ep.port} is not a port number (1-65535).`);
  if (!ep.username) throw configError('No SFTP username is set: pass --username, or set sftp.username / SFTP_USERNAME.');
  if (!ep.password && !ep.privateKey) {
    throw configError(`No password or private key is set for "${ep.username}": pass --password or --key, or set sftp.password / sftp.private_key_path.`);
  }
  if (ep.hostKey) return parseHostKeyPin(ep.hostKey);
  if (ep.insecureSkipHostKeyCheck) return undefined;
  throw new SftpError(
    'SftpHostKeyNotPinned',
    `The host key of ${serverLabel(ep)} is not pinned, so the server cannot be told from an impostor. ` +
      'Run `bq-sftp sftp check` against it, then set the fingerprint it prints as sftp.host_key (or SFTP_HOST_KEY, or --host-key).',
  );
}

function mismatchError(ep: SftpEndpoint, seen: Buffer, pin: HostKeyPin): SftpError {
  const k = describeHostKey(seen, ep.host, ep.port);
  return new SftpError(
    'SftpHostKeyMismatch',
    `The SFTP server ${serverLabel(ep)} presented the host key ${k.fingerprint} (${k.type}), not the pinned ${pin.describe()}. ` +
      'Nothing was sent and no login was attempted. If the server key was changed on purpose, run `bq-sftp sftp check` and update sftp.host_key; ' +
      'otherwise the connection may be intercepted.',
  );
}

/** One SSH connection with an SFTP channel; the caller closes it. Errors are SftpErrors. */
export async function connectSftp(ep: SftpEndpoint, opts: ConnectOptions = {}): Promise<SftpSession> {
  const pin = checkEndpoint(ep);
  const ctx = { server: serverLabel(ep), username: ep.username, op: 'connect', secrets: secretsOf(ep) };
  const client = new Client();
  let seenKey: Buffer | undefined;
  let mismatch = false;
  let banner: string | undefined;
  let negotiated: NegotiatedAlgorithms | undefined;

  const pinnedAlgorithms = pin?.keyTypes.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []) ?? [];
  const parsedKey = await openPrivateKey(ep.privateKey, ep.passphrase);
  const config: ConnectConfig = {
    host: ep.host,
    port: ep.port,
    username: ep.username,
    password: ep.password,
    privateKey: parsedKey ? undefined : ep.privateKey,
    passphrase: parsedKey ? undefined : ep.passphrase,
    // a cached, already decrypted key skips bcrypt-pbkdf on every new connection
    ...(parsedKey
      ? {
          authHandler: [
            { type: 'publickey' as const, username: ep.username, key: parsedKey },
            ...(ep.password !== undefined ? [{ type: 'password' as const, username: ep.username, password: ep.password }] : []),
          ] as unknown as ConnectConfig['authHandler'],
        }
      : {}),
    readyTimeout: ep.readyTimeoutMs ?? 20_000,
    keepaliveInterval: ep.keepaliveIntervalMs ?? 10_000,
    keepaliveCountMax: 3,
    debug: ep.debug,
    algorithms: {
      ...(ep.ciphers?.length ? { cipher: ep.ciphers as NonNullable<ConnectConfig['algorithms']>['cipher'] } : {}),
      // with a known_hosts line, ask for that key type first so the server offers the pinned key
      ...(pinnedAlgorithms.length ? { serverHostKey: { prepend: pinnedAlgorithms } as unknown as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } : {}),
    },
    // runs during key exchange, before any authentication is sent
    hostVerifier: (key: Buffer) => {
      seenKey = Buffer.from(key);
      if (!pin) return true;
      mismatch = !pin.matches(key);
      return !mismatch;
    },
  };

  try {
    await new Promise<void>((resolve, reject) => {
      // small WRITEs (a file's tail, a marker file) must not wait for a delayed ACK
      client.once('connect', () => client.setNoDelay(true));
      client.once('ready', resolve);
      client.once('error', reject);
      client.on('close', () => reject(new Error('Connection lost before the SSH handshake completed')));
      client.on('handshake', (n) => {
        banner = (client as unknown as { _remoteVer?: string })._remoteVer;
        negotiated = { kex: n.kex, serverHostKey: n.serverHostKey, cipher: n.cs.cipher, mac: n.cs.mac };
      });
      client.connect(config);
    });
    // a server that logs us in but never answers the subsystem request (a session process stuck
    // behind a dead privilege-separation monitor answers keepalives) must not hold a transfer forever
    const subsystemMs = ep.readyTimeoutMs ?? 20_000;
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(Object.assign(new Error(`the server accepted the login but did not open the SFTP subsystem within ${subsystemMs / 1000} s`), { level: 'client-timeout' })),
        subsystemMs,
      );
      client.sftp((err, s) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(s);
      });
    });
    return new SftpSession(client, sftp, {
      server: ctx.server,
      username: ep.username,
      hostKey: describeHostKey(seenKey!, ep.host, ep.port),
      serverBanner: banner,
      algorithms: negotiated,
      secrets: ctx.secrets,
      disabledExtensions: opts.disabledExtensions,
    });
  } catch (err) {
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    client.destroy();
    if (mismatch && seenKey && pin) throw mismatchError(ep, seenKey, pin);
    const message = err instanceof Error ? err.message : String(err);
    if (/^Unsupported algorithm/.test(message)) {
      throw configError(`${message}: the cipher list (sftp.ciphers) names a cipher this client does not support.`);
    }
    throw toSftpError(err, ctx);
  }
}

