/**
 * A TCP proxy that delays every chunk by a fixed one-way time, so a loopback SFTP server looks
 * like a partner's server across the internet (RTT = 2 × delay). Both our transfer and the
 * OpenSSH reference go through it in the same run.
 *
 * Run as its own process (the bench blocks its event loop in spawnSync):
 *   node --import tsx bench/latency-proxy.ts <target port> <one-way ms>
 * prints `{"port": N}` once listening; stops on SIGTERM or when stdin closes.
 */
import net from 'node:net';

/** Pause a side when this much is waiting in its delay line, resume when it drains. */
const MAX_IN_FLIGHT = 16 << 20;

function delayLine(from: net.Socket, to: net.Socket, delayMs: number): void {
  let queued = 0;
  from.on('data', (chunk: Buffer) => {
    queued += chunk.length;
    if (queued > MAX_IN_FLIGHT) from.pause();
    // equal delays: Node fires these timers in the order they were set, so bytes stay in order
    setTimeout(() => {
      queued -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (from.isPaused() && queued <= MAX_IN_FLIGHT / 2) from.resume();
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

export function startLatencyProxy(targetPort: number, oneWayMs: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    upstream.setNoDelay(true);
    delayLine(client, upstream, oneWayMs);
    delayLine(upstream, client, oneWayMs);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => setTimeout(() => client.destroy(), oneWayMs));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

if (require.main === module) {
  const [target, delay] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(target) || !(delay >= 0)) {
    process.stderr.write('usage: latency-proxy.ts <target port> <one-way ms>\n');
    process.exit(2);
  }
  void startLatencyProxy(target, delay).then((server) => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
    const stop = () => process.exit(0);
    process.on('SIGTERM', stop);
    process.stdin.on('end', stop).resume();
  });
}
