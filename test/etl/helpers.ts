import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
/* eslint-disable @typescript-eslint/no-explicit-any */
import { configSchema, type Config } from '../../src/config';
import { stackLayout } from '../../src/stack/layout';
import { departmentsCsv } from '../../src/etl/users-data';
import { stack, uniqueId } from '../helpers/stack';
import { storage } from '../helpers/export';

export { uniqueId };

/** The stack's users API (10,000 users). */
export function stackUsersApiUrl(): string {
  return `http://127.0.0.1:${stackLayout().ports.usersApi}`;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** A departments.csv in a temp folder. */
export function departmentsFile(dir: string, extra = ''): string {
  const file = path.join(dir, 'departments.csv');
  fs.writeFileSync(file, departmentsCsv() + extra);
  return file;
}

/**
 * The stack's demo config, SFTP as the key + passphrase user with a private folder, a unique task
 * queue, and one pipeline `name` reading `url` into a private SQLite file.
 */
export function etlConfig(opts: EtlConfigOptions): Config {
  return configSchema.parse(etlConfigInput(opts));
}

type EtlConfigOptions = { name: string; url: string; dir: string; pipeline?: Record<string, unknown>; source?: Record<string, unknown> };

/** The same config as JSON input (what a config file holds), e.g. for a worker process or the CLI. */
export function etlConfigInput(opts: EtlConfigOptions): Record<string, any> {
  const info = stack();
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const key = info.sftp.keyUser;
  const remoteBase = `/upload/${uniqueId('etl')}`;
  return {
    ...demo,
    temporal: { ...demo.temporal, task_queue: uniqueId('tq-etl') },
    sftp: {
      host: info.sftp.host,
      port: info.sftp.port,
      username: key.username,
      private_key_path: key.privateKeyPath,
      passphrase: key.passphrase,
      directory: key.directory,
      host_key: info.sftp.hostKeyFingerprint,
    },
    etl: {
      sqlite_path: path.join(opts.dir, 'etl.db'),
      pipelines: {
        [opts.name]: {
          source: { url: `${opts.url}/users`, page_size: 100, backoff_ms: 50, ...opts.source },
          lookups: [{ file: departmentsFile(opts.dir), key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' } }],
          remote_base: remoteBase,
          ...opts.pipeline,
        },
      },
    },
  };
}

/** Local path (in the sshd jail) of a remote path of the key user. */
export function keyUserLocal(remote: string): string {
  return path.join(stack().sftp.keyUser.localRoot, remote);
}

export async function gcsObject(name: string): Promise<Buffer> {
  const [data] = await storage().bucket(stack().gcs.bucket).file(name).download();
  return data;
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

export function jsonLines<T = unknown>(b: Buffer): T[] {
  return b
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

export async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of readline.createInterface({ input: fs.createReadStream(file) })) if (line) n++;
  return n;
}
