/**
 * A config with the demo ETL pipeline against the local stack: the stack's users API, its
 * departments.csv, a SQLite file in the stack's state folder, and the key + passphrase SFTP user.
 * Written to `<stack>/etl/demo-config.json` so the CLI can be pointed at it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateConfig, type Config } from '../config';
import { stackLayout } from '../stack/layout';
import type { StackInfo } from '../stack/stack-info';

export const DEMO_PIPELINE = 'demo_users';

export function etlDemoConfigInput(info: StackInfo, overrides: { taskQueue?: string; pipeline?: Record<string, unknown>; source?: Record<string, unknown> } = {}): Record<string, unknown> {
  const layout = stackLayout();
  const stateEtl = path.join(layout.stateDir, 'etl');
  const demo = JSON.parse(fs.readFileSync(info.demoConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const key = info.sftp.keyUser;
  return {
    ...demo,
    temporal: { ...demo.temporal, task_queue: overrides.taskQueue ?? 'bq-sftp-demo-etl' },
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
      sqlite_path: path.join(stateEtl, 'etl.db'),
      pipelines: {
        [DEMO_PIPELINE]: {
          source: { url: `http://${layout.host}:${layout.ports.usersApi}/users`, page_size: 100, records_key: 'users', ...overrides.source },
          lookups: [{ file: path.join(stateEtl, 'departments.csv'), key_field: 'company.department', key_column: 'department', columns: { department_code: 'code' } }],
          sftp: 'default',
          remote_base: `${key.directory}/etl/${DEMO_PIPELINE}`,
          schedule: { cron: '0 3 * * *' },
          ...overrides.pipeline,
        },
      },
    },
  };
}

export function writeEtlDemoConfig(info: StackInfo, overrides?: Parameters<typeof etlDemoConfigInput>[1]): { path: string; config: Config } {
  const input = etlDemoConfigInput(info, overrides);
  const config = validateConfig(input, 'the ETL demo config');
  const file = path.join(stackLayout().stateDir, 'etl', 'demo-config.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(input, null, 2), { mode: 0o600 });
  return { path: file, config };
}
