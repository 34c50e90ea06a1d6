/**
 * A private PostgreSQL for fault tests (its own data folder and port), so a test can stop and
 * restart it by PID without touching the stack's database.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPostgresBin } from '../../src/stack/postgres';
import { isPortOpen } from '../../src/stack/probes';
import { freePort } from '../helpers/ports';

export class OwnPostgres {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-pg-'));
  private proc?: ChildProcess;
  port = 0;
  private readonly bin = findPostgresBin();
  private readonly owner = process.getuid?.() === 0
    ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) }
    : undefined;

  get url(): string {
    return `postgres://bqsftp@127.0.0.1:${this.port}/postgres`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async init(): Promise<void> {
    if (!this.bin) throw new Error('PostgreSQL binaries not found: run `npm run setup`');
    fs.chmodSync(this.dir, 0o755);
    const data = path.join(this.dir, 'data');
    fs.mkdirSync(data, { mode: 0o700 });
    fs.mkdirSync(path.join(this.dir, 'run'));
    if (this.owner) {
      for (const p of [this.dir, data, path.join(this.dir, 'run')]) fs.chownSync(p, this.owner.uid, this.owner.gid);
    }
    execFileSync(path.join(this.bin, 'initdb'), ['-D', data, '-U', 'bqsftp', '--auth=trust', '-E', 'UTF8', '--no-instructions'], { uid: this.owner?.uid, gid: this.owner?.gid, stdio: 'ignore' });
    this.port = await freePort();
  }

  async start(): Promise<void> {
    const log = fs.openSync(path.join(this.dir, 'postgres.log'), 'a');
    this.proc = spawn(path.join(this.bin!, 'postgres'), ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1', '-k', path.join(this.dir, 'run')], {
      uid: this.owner?.uid,
      gid: this.owner?.gid,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    for (let i = 0; i < 300; i++) {
      if (await isPortOpen('127.0.0.1', this.port)) return;
      if (this.proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the private PostgreSQL did not start: ${fs.readFileSync(path.join(this.dir, 'postgres.log'), 'utf8').slice(-2000)}`);
  }

  /** SIGQUIT to the postmaster: an immediate shutdown (every connection dropped, crash recovery at the next start). */
  async crash(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGQUIT');
    await exited;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
