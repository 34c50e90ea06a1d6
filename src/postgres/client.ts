import type pg from 'pg';
import type { Config } from '../config';

// pg loads with the first pool: a worker without PostgreSQL work (or idle) does not pay for it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgModule = () => require('pg') as typeof pg;

/** A typed error for PostgreSQL problems that retrying will not fix (or will). */
export class PostgresError extends Error {
  constructor(readonly type: string, message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface PostgresSettings {
  url: string;
  max?: number;
}

/** The PostgreSQL URL of the config, or a clear error naming the field. */
export function postgresSettings(config: Config): PostgresSettings {
  const block = (config as { postgres?: { url?: string; max_connections?: number } }).postgres;
  if (!block?.url) {
    throw new PostgresError(
      'PostgresNotConfigured',
      'postgres.url is not set: add "postgres": { "url": "postgres://user@host:5432/db" } to the config (or {"env": "DATABASE_URL"} when it holds a password)',
      false,
    );
  }
  return { url: block.url, max: block.max_connections };
}

/** `postgres://user:***@host:port/db` — the URL without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

const pools = new Map<string, pg.Pool>();

/**
 * One pool per URL and process. Idle connections close after a few seconds and never keep the
 * process alive; a connection that breaks while idle (server restarted) is dropped, not fatal.
 */
export function postgresPool(settings: PostgresSettings): pg.Pool {
  const key = `${settings.url}#${settings.max ?? 10}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new (pgModule().Pool)({
      connectionString: settings.url,
      max: settings.max ?? 10,
      idleTimeoutMillis: 5000,
      connectionTimeoutMillis: 10_000,
      allowExitOnIdle: true,
    });
    pool.on('error', () => undefined);
    // a connection that breaks while checked out (server restarted) fails its query; its 'error' event must not crash the process
    pool.on('connect', (client) => client.on('error', () => undefined));
    pools.set(key, pool);
  }
  return pool;
}

/** Closes every pool this process opened (tests, CLI commands). */
export async function closePostgresPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  // a connection still checked out must not hold the caller forever
  await Promise.all(all.map((p) => Promise.race([p.end().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())])));
}

/** Runs `fn` in one transaction on one pooled connection; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken ? true : undefined);
  }
}

const UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300']);

/** Maps pg errors to typed ones: server gone → retryable `PostgresUnavailable`; auth refused → permanent. */
export function classifyPgError(err: unknown, url?: string): unknown {
  if (!(err instanceof Error) || err instanceof PostgresError) return err;
  const code = (err as { code?: string }).code;
  const where = url ? ` at ${describeUrl(url)}` : '';
  if (code === '28P01' || code === '28000') {
    return new PostgresError('PostgresAuthFailed', `PostgreSQL refused the login${where}: ${err.message}. Fix postgres.url (user/password); retrying will not help.`, false, { cause: err });
  }
  if (code === '3D000') {
    return new PostgresError('PostgresNotFound', `PostgreSQL database does not exist${where}: ${err.message}. Create it or fix postgres.url.`, false, { cause: err });
  }
  if ((code && UNAVAILABLE.has(code)) || /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded when trying to connect/i.test(err.message) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code ?? '')) {
    return new PostgresError('PostgresUnavailable', `PostgreSQL is unreachable${where} (${code ?? 'connection'}): ${err.message}. It is retried; check that PostgreSQL is up.`, true, { cause: err });
  }
  return err;
}
