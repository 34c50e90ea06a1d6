import { isSftpError } from './errors';
import { connectSftp, type ConnectOptions } from './connect';
import { endpointKey, type SftpEndpoint } from './endpoint';
import type { SftpSession } from './session';

export interface SftpPoolOptions {
  /** connections per endpoint (host:port:user + credentials) unless the endpoint sets its own `maxConnections`; default 4 */
  maxPerEndpoint?: number;
  /** an unused connection is closed after this long, default 60 s */
  idleMs?: number;
  /** a connection idle longer than this is probed (one round trip) before reuse, default 15 s */
  probeAfterIdleMs?: number;
  /** a probe unanswered this long marks the connection dead, default 5 s */
  probeTimeoutMs?: number;
  connectOptions?: ConnectOptions;
}

export interface SftpPoolStats {
  endpoints: number;
  open: number;
  idle: number;
  busy: number;
  waiting: number;
  /** connections opened since the pool was made */
  created: number;
  /** acquisitions served by an existing connection */
  reused: number;
  /** connections closed and forgotten: dead, idle too long, or closed by closeAll */
  discarded: number;
}

interface Slot {
  /** connected or connecting; never more than maxPerEndpoint */
  open: number;
  sessions: Set<SftpSession>;
  busy: Set<SftpSession>;
  idle: { session: SftpSession; since: number; timer: NodeJS.Timeout }[];
  waiters: (() => void)[];
}

/**
 * SFTP connections shared per endpoint: reuse, a limit per endpoint with a queue of waiters,
 * dead connections (closed transport, failed keepalive, failed probe) replaced on the next
 * acquire, idle connections closed after a while.
 */
export class SftpPool {
  private readonly slots = new Map<string, Slot>();
  private readonly max: number;
  private readonly idleMs: number;
  private readonly probeAfterIdleMs: number;
  private readonly probeTimeoutMs: number;
  private readonly counters = { created: 0, reused: 0, discarded: 0 };
  /** pool key → the connection's config name (metrics label; never host or credentials) */
  private readonly names = new Map<string, string>();

  constructor(private readonly opts: SftpPoolOptions = {}) {
    this.max = Math.max(1, opts.maxPerEndpoint ?? 4);
    this.idleMs = opts.idleMs ?? 60_000;
    this.probeAfterIdleMs = opts.probeAfterIdleMs ?? 15_000;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 5000;
  }

  /** Runs `fn` with a pooled session; a session whose connection was lost is not reused. */
  async withSession<T>(ep: SftpEndpoint, fn: (s: SftpSession) => Promise<T>): Promise<T> {
    const key = endpointKey(ep);
    if (!this.names.has(key)) this.names.set(key, ep.connection ?? 'unnamed');
    const session = await this.acquire(ep, key);
    let broken = false;
    try {
      return await fn(session);
    } catch (err) {
      if (isSftpError(err, 'SftpConnectionLost')) broken = true;
      throw err;
    } finally {
      this.release(key, session, broken);
    }
  }

  stats(): SftpPoolStats {
    let open = 0;
    let idle = 0;
    let busy = 0;
    let waiting = 0;
    for (const slot of this.slots.values()) {
      open += slot.sessions.size;
      idle += slot.idle.length;
      busy += slot.busy.size;
      waiting += slot.waiters.length;
    }
    return { endpoints: this.slots.size, open, idle, busy, waiting, ...this.counters };
  }

  /** The same counts per connection name (several keys of one name, e.g. after a password change, are summed). */
  statsByConnection(): Record<string, { open: number; idle: number; busy: number; waiting: number }> {
    const out: Record<string, { open: number; idle: number; busy: number; waiting: number }> = {};
    for (const [key, slot] of this.slots) {
      const c = (out[this.names.get(key) ?? 'unnamed'] ??= { open: 0, idle: 0, busy: 0, waiting: 0 });
      c.open += slot.sessions.size;
      c.idle += slot.idle.length;
      c.busy += slot.busy.size;
      c.waiting += slot.waiters.length;
    }
    return out;
  }

  /** Closes every connection (idle at once, busy ones too); the pool stays usable afterwards. */
  async closeAll(): Promise<void> {
    const all: SftpSession[] = [];
    for (const slot of this.slots.values()) {
      for (const i of slot.idle) clearTimeout(i.timer);
      slot.idle = [];
      all.push(...slot.sessions);
    }
    await Promise.all(all.map((s) => s.close()));
  }

  private slot(key: string): Slot {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { open: 0, sessions: new Set(), busy: new Set(), idle: [], waiters: [] };
      this.slots.set(key, slot);
    }
    return slot;
  }

  private async acquire(ep: SftpEndpoint, key: string): Promise<SftpSession> {
    const slot = this.slot(key);
    for (;;) {
      const idle = slot.idle.pop();
      if (idle) {
        clearTimeout(idle.timer);
        if (await this.usable(idle.session, idle.since)) {
          this.counters.reused++;
          slot.busy.add(idle.session);
          return idle.session;
        }
        this.discard(key, idle.session);
        continue;
      }
      if (slot.open < Math.max(1, ep.maxConnections ?? this.max)) {
        slot.open++;
        let session: SftpSession;
        try {
          session = await connectSftp(ep, this.opts.connectOptions);
        } catch (err) {
          slot.open--;
          this.wakeOne(slot);
          throw err;
        }
        this.counters.created++;
        slot.sessions.add(session);
        slot.busy.add(session);
        session.onClose(() => this.onSessionClosed(key, session));
        return session;
      }
      await new Promise<void>((resolve) => slot.waiters.push(resolve));
    }
  }

  private async usable(s: SftpSession, idleSince: number): Promise<boolean> {
    if (!s.alive) return false;
    if (Date.now() - idleSince < this.probeAfterIdleMs) return true;
    // a half-open connection (peer gone without a FIN) only shows when a request goes unanswered
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.probeTimeoutMs)));
    const probe = s.stat('.').then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([probe, timeout]);
    clearTimeout(timer);
    return ok && s.alive;
  }

  private release(key: string, session: SftpSession, broken: boolean): void {
    const slot = this.slot(key);
    slot.busy.delete(session);
    if (broken || !session.alive || !slot.sessions.has(session)) {
      this.discard(key, session);
      return;
    }
    const timer = setTimeout(() => {
      slot.idle = slot.idle.filter((i) => i.session !== session);
      this.discard(key, session);
    }, this.idleMs);
    timer.unref();
    slot.idle.push({ session, since: Date.now(), timer });
    this.wakeOne(slot);
  }

  /** Forgets a session (once) and closes it; frees its place for a waiter. */
  private discard(key: string, session: SftpSession): void {
    const slot = this.slot(key);
    if (slot.sessions.delete(session)) {
      slot.open--;
      this.counters.discarded++;
    }
    const i = slot.idle.findIndex((x) => x.session === session);
    if (i >= 0) {
      clearTimeout(slot.idle[i].timer);
      slot.idle.splice(i, 1);
    }
    if (session.alive) void session.close();
    this.wakeOne(slot);
  }

  private onSessionClosed(key: string, session: SftpSession): void {
    const slot = this.slots.get(key);
    if (!slot?.sessions.has(session)) return;
    // a busy session is discarded when it is released
    if (!slot.busy.has(session)) this.discard(key, session);
  }

  private wakeOne(slot: Slot): void {
    slot.waiters.shift()?.();
  }
}
