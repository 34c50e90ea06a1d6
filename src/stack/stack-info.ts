import fs from 'node:fs';
import { credentialsPath, stackLayout, type StackLayout } from './layout';

/** Everything a client needs to reach the running local stack (written by `stack up`). */
export interface StackInfo {
  temporal: { address: string; namespace: string; uiUrl: string };
  gcs: { endpoint: string; projectId: string; bucket: string };
  bigquery: { endpoint: string; projectId: string; dataset: string };
  sftp: {
    host: string;
    port: number;
    hostKeyFingerprint: string;
    knownHostsLine: string;
    passwordUser: { username: string; password: string; directory: string; localRoot: string };
    keyUser: {
      username: string;
      privateKeyPath: string;
      passphrase: string;
      directory: string;
      localRoot: string;
    };
  };
  postgres: { host: string; port: number; user: string; database: string; socketDir: string };
  demoConfigPath: string;
}

export function readStackInfo(layout: StackLayout = stackLayout()): StackInfo {
  const file = credentialsPath(layout);
  if (!fs.existsSync(file)) {
    throw new Error(`The local stack is not set up (${file} is missing): run \`npm run stack -- up\` first.`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StackInfo;
}
