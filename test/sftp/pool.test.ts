/** SftpPool against a private sshd (same users and jails as the stack's) that the tests restart and freeze. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSftpError, SftpPool, type SftpEndpoint, type SftpSession } from '../../src/sftp';
import { endpointFor } from './helpers/endpoints';
import { OwnSshd } from './helpers/own-sshd';

const sshd = new OwnSshd();
let ep: SftpEndpoint;

function count(re: RegExp): number {
  return sshd.log().split('\n').filter((l) => re.test(l)).length;
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  await sshd.start();
  ep = endpointFor('password', { port: sshd.port });
});
after(async () => {
  sshd.signalConnections('SIGCONT');
  await sshd.stop();
});

void describe('SftpPool', () => {
  test('two calls reuse one connection (one login on the server)', async () => {
    const pool = new SftpPool();
    const logins = count(/Accepted password for/);
    try {
      const first = await pool.withSession(ep, async (s) => (await s.list('/upload'), s.id));
      const second = await pool.withSession(ep, async (s) => (await s.list('/upload'), s.id));
      assert.equal(first, second);
      assert.deepEqual({ ...pool.stats(), discarded: 0 }, { endpoints: 1, open: 1, idle: 1, busy: 0, waiting: 0, created: 1, reused: 1, discarded: 0 });
      await until('the login to be logged', () => count(/Accepted password for/) === logins + 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(count(/Accepted password for/), logins + 1);
    } finally {
      await pool.closeAll();
    }
  });

  test('different credentials get their own connections', async () => {
    const pool = new SftpPool();
    try {
      const a = await pool.withSession(ep, async (s) => s.id);
      const b = await pool.withSession(endpointFor('key + passphrase', { port: sshd.port }), async (s) => s.id);
      const c = await pool.withSession({ ...ep, password: `${ep.password}-changed` }, async (s) => s.id).catch((e: unknown) => e);
      assert.notEqual(a, b);
      assert.ok(isSftpError(c, 'SftpAuthFailed'), 'a changed password must not reuse the connection made with the old one');
      assert.equal(pool.stats().endpoints, 3);
      assert.equal(pool.stats().created, 2);
    } finally {
      await pool.closeAll();
    }
  });

  test('no more than maxPerEndpoint connections; the others wait their turn', async () => {
    const pool = new SftpPool({ maxPerEndpoint: 2 });
    let holding = 0;
    let maxHolding = 0;
    let maxWaiting = 0;
    try {
      const ids = await Promise.all(
        Array.from({ length: 6 }, () =>
          pool.withSession(ep, async (s) => {
            holding++;
            maxHolding = Math.max(maxHolding, holding);
            maxWaiting = Math.max(maxWaiting, pool.stats().waiting);
            await s.list('/upload');
            await new Promise((r) => setTimeout(r, 50));
            holding--;
            return s.id;
          }),
        ),
      );
      assert.equal(maxHolding, 2);
      assert.ok(maxWaiting >= 3, `waiting peaked at ${maxWaiting}`);
      assert.equal(new Set(ids).size, 2);
      assert.equal(pool.stats().created, 2);
      assert.equal(pool.stats().reused, 4);
    } finally {
      await pool.closeAll();
    }
  });

  test('after the server restarts, the next call reconnects by itself', async () => {
    const pool = new SftpPool();
    try {
      let first: SftpSession | undefined;
      await pool.withSession(ep, async (s) => {
        first = s;
        await s.list('/upload');
      });
      await sshd.restart();
      await until('the old connection to notice', () => !first!.alive);
      const listing = await pool.withSession(ep, async (s) => {
        assert.notEqual(s.id, first!.id);
        return s.list('/upload');
      });
      assert.ok(Array.isArray(listing));
      assert.equal(pool.stats().created, 2);
      assert.equal(pool.stats().open, 1);
    } finally {
      await pool.closeAll();
    }
  });

  test('a connection lost in the middle of a call fails that call (retryable) and is not reused', async () => {
    const pool = new SftpPool();
    try {
      const err = await pool
        .withSession(ep, async (s) => {
          await s.list('/upload');
          await sshd.kill();
          await until('the connection to drop', () => !s.alive);
          return s.list('/upload');
        })
        .catch((e: unknown) => e);
      assert.ok(isSftpError(err, 'SftpConnectionLost'), String(err));
      assert.equal(err.retryable, true);
      assert.equal(pool.stats().open, 0);
      await sshd.start();
      assert.ok(Array.isArray(await pool.withSession(ep, (s) => s.list('/upload'))));
    } finally {
      await pool.closeAll();
    }
  });

  test('a failed keepalive (server hung) marks the connection dead; the next call gets a new one', async () => {
    const pool = new SftpPool();
    const fast = { ...ep, keepaliveIntervalMs: 150 };
    try {
      let first: SftpSession | undefined;
      await pool.withSession(fast, async (s) => {
        first = s;
      });
      assert.ok(sshd.signalConnections('SIGSTOP') > 0);
      await until('the keepalive to give up', () => !first!.alive, 5000);
      assert.equal(pool.stats().open, 0, 'the dead idle connection is dropped from the pool');
      sshd.signalConnections('SIGCONT');
      const id = await pool.withSession(fast, async (s) => (await s.list('/upload'), s.id));
      assert.notEqual(id, first!.id);
    } finally {
      sshd.signalConnections('SIGCONT');
      await pool.closeAll();
    }
  });

  test('an idle connection that does not answer the reuse probe is replaced', async () => {
    const pool = new SftpPool({ probeAfterIdleMs: 0, probeTimeoutMs: 300 });
    const noKeepalive = { ...ep, keepaliveIntervalMs: 0 };
    try {
      const first = await pool.withSession(noKeepalive, async (s) => s.id);
      sshd.signalConnections('SIGSTOP');
      // only the open connection's processes are frozen: the listener still accepts new ones
      const second = await pool.withSession(noKeepalive, async (s) => (await s.list('/upload'), s.id));
      assert.notEqual(second, first);
      assert.equal(pool.stats().discarded, 1);
    } finally {
      sshd.signalConnections('SIGCONT');
      await pool.closeAll();
    }
  });

  test('idle connections are closed after idleMs; closeAll closes the rest and the pool stays usable', async () => {
    const pool = new SftpPool({ idleMs: 150 });
    await pool.withSession(ep, async () => undefined);
    assert.equal(pool.stats().open, 1);
    await until('the idle connection to close', () => pool.stats().open === 0, 3000);

    const other = endpointFor('key + passphrase', { port: sshd.port });
    const keep = new SftpPool();
    const sessions: SftpSession[] = [];
    await keep.withSession(ep, async (s) => void sessions.push(s));
    await keep.withSession(other, async (s) => void sessions.push(s));
    assert.equal(keep.stats().open, 2);
    await keep.closeAll();
    assert.ok(sessions.every((s) => !s.alive));
    await until('the pool to forget them', () => keep.stats().open === 0, 2000);
    assert.ok(Array.isArray(await keep.withSession(ep, (s) => s.list('/upload'))));
    await keep.closeAll();
  });

  test('a connection error reaches the caller and frees the slot', async () => {
    const pool = new SftpPool({ maxPerEndpoint: 1 });
    const bad = { ...ep, port: 1 };
    for (let i = 0; i < 2; i++) {
      const err = await pool.withSession(bad, async () => undefined).catch((e: unknown) => e);
      assert.ok(isSftpError(err, 'SftpHostUnreachable'));
    }
    assert.equal(pool.stats().open, 0);
  });
});
