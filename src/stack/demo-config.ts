import fs from 'node:fs';
import type { StackInfo } from './stack-info';
import { ingestDemoConfig } from './seed-ingest';

/** A complete bq-sftp config pointing at the local stack, used by `npm run demo` and tests. */
export function demoConfig(info: StackInfo): Record<string, unknown> {
  const table = (t: string) => `\`${info.bigquery.projectId}.${info.bigquery.dataset}.${t}\``;
  return {
    temporal: { address: info.temporal.address, namespace: info.temporal.namespace, task_queue: 'bq-sftp', ui_url: info.temporal.uiUrl },
    bigquery: { project_id: info.bigquery.projectId, api_endpoint: info.bigquery.endpoint },
    gcs: { bucket: info.gcs.bucket, expiration_days: 30, project_id: info.gcs.projectId, api_endpoint: info.gcs.endpoint },
    sftp: {
      host: info.sftp.host,
      port: info.sftp.port,
      username: info.sftp.passwordUser.username,
      password: info.sftp.passwordUser.password,
      directory: info.sftp.passwordUser.directory,
      host_key: info.sftp.hostKeyFingerprint,
    },
    ...ingestDemoConfig(info),
    exports: {
      product_data: {
        query: `SELECT id, name, category, price, created_at FROM ${table('products')} WHERE DATE(created_at) = '{date}' ORDER BY id`,
        file_prefix: 'Product',
        format: 'CSV',
        compression: 'GZIP',
      },
      customer_data: {
        query: `SELECT id, name, email FROM ${table('customers')} ORDER BY id`,
        file_prefix: 'Customer',
        format: 'CSV',
      },
    },
  };
}

export function writeDemoConfig(info: StackInfo): void {
  fs.writeFileSync(info.demoConfigPath, JSON.stringify(demoConfig(info), null, 2), { mode: 0o600 });
}
