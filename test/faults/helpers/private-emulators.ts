/**
 * Emulators of our own for outage tests, started with the project's stack CLI in a temp state
 * folder on free ports (BQSFTP_STACK_DIR / BQSFTP_STACK_SERVICES / BQSFTP_*_PORT), so stopping
 * them never disturbs the shared stack. Stopped by the PIDs in their own PID files.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../helpers/ports';
import { stackLayout } from '../../../src/stack/layout';

const run = promisify(execFile);
const STACK_CLI = path.resolve(__dirname, '../../../src/stack/cli.ts');
const REPO = path.resolve(__dirname, '../../..');

export type EmulatorName = 'gcs' | 'bigquery';

export class PrivateEmulators {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-outage-'));
  private env: Record<string, string> = {};

  constructor(
    readonly services: EmulatorName[],
    /** ports of services not started here (e.g. the shared GCS a private BigQuery exports to) */
    private readonly fixedPorts: Partial<Record<'BQSFTP_GCS_PORT', string>> = {},
  ) {}

  async start(): Promise<void> {
    if (!this.env.BQSFTP_STACK_DIR) {
      this.env = {
        BQSFTP_STACK_DIR: this.dir,
        BQSFTP_TOOLS_DIR: path.dirname(stackLayout().toolsBin),
        BQSFTP_STACK_SERVICES: this.services.join(','),
        BQSFTP_GCS_PORT: this.fixedPorts.BQSFTP_GCS_PORT ?? String(await freePort()),
        BQSFTP_BIGQUERY_PORT: String(await freePort()),
        BQSFTP_BIGQUERY_GRPC_PORT: String(await freePort()),
      };
    }
    await run(process.execPath, ['--import', 'tsx', STACK_CLI, 'up'], { cwd: REPO, env: { ...process.env, ...this.env }, timeout: 120_000 });
  }

  endpoint(service: EmulatorName): string {
    const port = service === 'gcs' ? this.env.BQSFTP_GCS_PORT : this.env.BQSFTP_BIGQUERY_PORT;
    return `http://127.0.0.1:${port}`;
  }

  private pid(service: EmulatorName): number | undefined {
    const file = path.join(this.dir, 'pids', `${service}.pid`);
    return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : undefined;
  }

  /** SIGKILL, as a crash would: no clean shutdown. Resolves when the process is gone. */
  async crash(service: EmulatorName): Promise<void> {
    const pid = this.pid(service);
    if (!pid) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    for (const s of this.services) await this.crash(s);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
