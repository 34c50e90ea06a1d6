import { BigQuery } from '@google-cloud/bigquery';
import type { Config } from '../config';
import type { IngestConfig, TenantConfig } from './config';
import { EVENT_TYPES, type EventType } from './event-types';

/** A typed error of the ingest family (mapped to an ApplicationFailure with this `type`). */
export class IngestError extends Error {
  constructor(readonly type: string, message: string, readonly retryable = false) {
    super(message);
  }
}

export function ingestConfig(config: Config): IngestConfig {
  const block = (config as { ingest?: IngestConfig }).ingest;
  return block ?? { job_timeout_seconds: 1800, max_parallel: 6, page_rows: 100_000, tenants: {}, api_tokens: {} };
}

export function tenantNames(config: Config): string[] {
  return Object.keys(ingestConfig(config).tenants).sort();
}

/** The tenant's config, or IngestUnknownTenant naming the known ones. */
export function getTenant(config: Config, tenant: string): TenantConfig {
  const tenants = ingestConfig(config).tenants;
  const t = Object.prototype.hasOwnProperty.call(tenants, tenant) ? tenants[tenant] : undefined;
  if (!t) {
    const known = Object.keys(tenants);
    throw new IngestError('IngestUnknownTenant', `unknown tenant "${tenant}": it is not under ingest.tenants in the config${known.length ? '' : ' (no tenants are configured)'}`);
  }
  return t;
}

/** The BigQuery table of one event type, fully qualified. */
export function eventTableRef(t: TenantConfig, type: EventType): string {
  return `${t.bigquery.project_id}.${t.bigquery.dataset}.${t.bigquery.tables[type] ?? type}`;
}

export function isEventType(s: string): s is EventType {
  return (EVENT_TYPES as readonly string[]).includes(s);
}

const clients = new Map<string, BigQuery>();

/** One BigQuery client per tenant and process; credentials by reference (key file, env var) or ADC. */
export function bigqueryForTenant(config: Config, tenantId: string, t: TenantConfig, env: NodeJS.ProcessEnv = process.env): BigQuery {
  const bq = t.bigquery;
  const apiEndpoint = bq.api_endpoint ?? config.bigquery?.api_endpoint;
  const cacheKey = JSON.stringify([tenantId, bq.project_id, apiEndpoint, bq.key_file, bq.credentials_env, bq.location]);
  let client = clients.get(cacheKey);
  if (client) return client;
  let credentials: Record<string, unknown> | undefined;
  if (bq.credentials_env) {
    const raw = env[bq.credentials_env];
    if (!raw) {
      throw new IngestError('BigQueryAuthFailed', `ingest.tenants.${tenantId}.bigquery.credentials_env names ${bq.credentials_env}, which is not set in the worker's environment: set it to the service-account key JSON`);
    }
    try {
      credentials = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new IngestError('BigQueryAuthFailed', `${bq.credentials_env} (ingest.tenants.${tenantId}.bigquery.credentials_env) is not JSON: it must hold a service-account key file's content`);
    }
  }
  client = new BigQuery({
    projectId: bq.project_id,
    location: bq.location ?? config.bigquery?.location,
    ...(apiEndpoint ? { apiEndpoint } : {}),
    ...(bq.key_file ? { keyFilename: bq.key_file } : {}),
    ...(credentials ? { credentials } : {}),
  });
  clients.set(cacheKey, client);
  return client;
}
