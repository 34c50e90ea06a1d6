import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

/** Processes the stack started, tracked by PID files so `down` stops exactly those. */
export function pidFile(pidsDir: string, name: string): string {
  return path.join(pidsDir, `${name}.pid`);
}

export function readPid(pidsDir: string, name: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(pidsDir, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie still answers kill(0); treat it as gone
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

export function runningPid(pidsDir: string, name: string): number | undefined {
  const pid = readPid(pidsDir, name);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export interface StartSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** Starts a detached daemon in its own process group, output to logs/<name>.log. */
export function startDaemon(spec: StartSpec, logsDir: string, pidsDir: string): number {
  fs.mkdirSync(logsDir, { recursive: true });
  fs.mkdirSync(pidsDir, { recursive: true });
  const log = fs.openSync(path.join(logsDir, `${spec.name}.log`), 'a');
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    uid: spec.uid,
    gid: spec.gid,
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  child.unref();
  fs.writeFileSync(pidFile(pidsDir, spec.name), `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM the process group, wait (bounded), then SIGKILL. Removes the PID file. */
export async function stopDaemon(pidsDir: string, name: string, graceMs = 10_000): Promise<boolean> {
  const pid = readPid(pidsDir, name);
  if (pid === undefined) return false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  let stopped = false;
  if (isAlive(pid)) {
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) signal('SIGKILL');
    stopped = true;
  }
  fs.rmSync(pidFile(pidsDir, name), { force: true });
  return stopped;
}

export function tailLog(logsDir: string, name: string, lines = 15): string {
  try {
    const text = fs.readFileSync(path.join(logsDir, `${name}.log`), 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
