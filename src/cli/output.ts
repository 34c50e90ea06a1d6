/** Output helpers for CLI commands: JSON, one-line failures with an exit code, sizes. */
import { CommanderError } from 'commander';
import type { Readable } from 'node:stream';

export interface TextSink {
  write(text: string): unknown;
}

/** Where a command reads and writes; tests pass their own. */
export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  /** whether a person is at a terminal (prompts, progress bars) */
  isTTY: boolean;
  /** where confirmations are read from (default process.stdin) */
  stdin?: Readable;
}

export function processIo(): CliIo {
  // getters: Node makes process.stdin/stdout/stderr on first access (a TTY, pipe or socket, with
  // their modules: milliseconds), and the commands are registered at every start, --help included
  return {
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    get isTTY() {
      return Boolean(process.stdout.isTTY && process.stdin.isTTY);
    },
    get stdin() {
      return process.stdin;
    },
  };
}

export const EXIT_FAILURE = 1;
/** refused: bad input (invalid config, unknown export, bad date, bad argument or option), unsafe path, missing confirmation */
export const EXIT_REFUSED = 2;

/** A failure whose line was already printed; `main` returns its exit code without printing again. */
export class CliExit extends CommanderError {
  constructor(exitCode: number, message: string) {
    super(exitCode, 'bq-sftp.failed', message);
  }
}

/** A failure to report as one line with this exit code. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export function fail(reason: string, exitCode = EXIT_FAILURE): never {
  throw new CliFailure(reason, exitCode);
}

export function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/** Prints `bq-sftp: <reason>` on stderr and returns the exit code for `err`. */
export function reportFailure(io: CliIo, err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`bq-sftp: ${oneLine(message) || 'failed'}\n`);
  if (err instanceof CliFailure) return err.exitCode;
  const type = (err as { type?: unknown })?.type;
  // bad input (an unsafe path, an invalid SFTP config) exits like every other refusal
  return type === 'SftpUnsafePath' || type === 'SftpConfigInvalid' || type === 'ConfigInvalid' ? EXIT_REFUSED : EXIT_FAILURE;
}

/**
 * Wraps a command's action: any error is printed as one line on stderr and turned into a
 * CliExit carrying the exit code (so nothing prints it twice).
 */
export function guarded<A extends unknown[]>(io: CliIo, action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      if (err instanceof CommanderError) throw err;
      const code = reportFailure(io, err);
      throw new CliExit(code, err instanceof Error ? err.message : String(err));
    }
  };
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(io: CliIo, text = ''): void {
  io.stdout.write(`${text}\n`);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}
