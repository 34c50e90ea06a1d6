/**
 * A private sshd for tests that restart the server or read its log: same host key, users and
 * jails as the stack's (a copy of its sshd_config on another port), its own log file.
 * Never touches the shared sshd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../helpers/ports';
import { stackLayout } from '../../../src/stack/layout';

const SHARED_CONFIG = path.join(stackLayout().stateDir, 'sshd', 'sshd_config');

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Every process below `pid` (sshd forks a monitor and a session process per connection). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export class OwnSshd {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-own-sshd-'));
  readonly configPath = path.join(this.dir, 'sshd_config');
  readonly logPath = path.join(this.dir, 'sshd.log');
  port = 0;
  private proc?: ChildProcess;

  async start(): Promise<void> {
    if (!this.port) {
      this.port = await freePort();
      const config = fs.readFileSync(SHARED_CONFIG, 'utf8').replace(/^Port \d+$/m, `Port ${this.port}`);
      fs.writeFileSync(this.configPath, config);
    }
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', this.configPath], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    for (let i = 0; i < 100; i++) {
      if (await canConnect(this.port)) return;
      if (this.proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`own sshd did not start on port ${this.port}; log:\n${this.log()}`);
  }

  /** Kills the listener and every connection it serves, as a crash or a host restart would. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc?.pid || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    for (const pid of [proc.pid, ...descendants(proc.pid)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    this.proc = undefined;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the processes serving the open connections: a hung server. */
  signalConnections(signal: 'SIGSTOP' | 'SIGCONT'): number {
    if (!this.proc?.pid) return 0;
    const pids = descendants(this.proc.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    return pids.length;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  log(): string {
    return fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath, 'utf8') : '';
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
