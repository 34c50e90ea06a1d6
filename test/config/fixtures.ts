import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config';

/** A minimal valid raw config (JSON shape), like the seed's example. */
export function minimalRaw(): Record<string, unknown> {
  return {
    sftp: { host: 'sftp.example.com', username: 'user', password: 'pw-0123456789', directory: '/uploads' },
    gcs: { bucket: 'my-bucket' },
    exports: {
      product_data: { query: "SELECT * FROM `p.d.products` WHERE DATE(created_at) = '{date}'" },
    },
  };
}

/** A temp dir removed at process exit. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-sftp-config-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

/** Runs fn, asserts it throws a ConfigError, returns it. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** path → message of every issue. */
export function issueMap(err: ConfigError): Map<string, string> {
  return new Map(err.issues.map((i) => [i.path, i.message]));
}
