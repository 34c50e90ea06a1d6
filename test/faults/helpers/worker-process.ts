/**
 * A worker in its own process (`bq-sftp worker --config …`), so a test can SIGKILL it like a
 * crashed host. Its stdout and stderr go to a log file the test can read afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const BIN = path.resolve(__dirname, '../../../bin/bq-sftp.js');

export class WorkerProcess {
  private constructor(
    private readonly proc: ChildProcess,
    readonly logPath: string,
    private readonly exited: Promise<void>,
  ) {}

  get pid(): number {
    return this.proc.pid!;
  }

  static async start(opts: { configPath: string; logPath: string; env?: Record<string, string>; args?: string[] }): Promise<WorkerProcess> {
    // the log is appended to (a restarted worker keeps one log), so readiness is looked for only in what this process writes
    const startedAt = fs.existsSync(opts.logPath) ? fs.statSync(opts.logPath).size : 0;
    const log = fs.openSync(opts.logPath, 'a');
    const proc = spawn(process.execPath, [BIN, 'worker', '--config', opts.configPath, ...(opts.args ?? [])], {
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none', ...opts.env },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const worker = new WorkerProcess(proc, opts.logPath, exited);
    for (let i = 0; i < 600; i++) {
      if (worker.logSince(startedAt).includes('polling task queue')) return worker;
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await worker.kill();
    throw new Error(`the worker process did not start; its log:\n${worker.log()}`);
  }

  log(): string {
    return fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath, 'utf8') : '';
  }

  /** what the log holds after its first `offset` bytes */
  logSince(offset: number): string {
    return fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath).subarray(offset).toString('utf8') : '';
  }

  /** SIGKILL: no clean-up of any kind, as when a machine dies. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful shutdown), then SIGKILL if it is still there after 20 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}
