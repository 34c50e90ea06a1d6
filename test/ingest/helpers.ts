import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { testConfig } from '../helpers/config';
import { localSftpPath, mkdirLocal } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';
import { postgresPool, postgresSettings } from '../../src/postgres/client';
import { migrateIngest } from '../../src/ingest/activities';
import { buildIngestInput, startIngestJob } from '../../src/ingest/start';
import type { IngestJob } from '../../src/ingest/job';
import { EVENT_TYPES, eventTable, type EventType } from '../../src/ingest/event-types';
import { createBigQuery } from '../../src/bigquery/client';
import { ensureIngestDemoData, INGEST_DEMO_DATASET } from '../../src/stack/seed-ingest';

export const info = stack();

/** A tenant ID of its own per test, so rows in PostgreSQL never collide across tests and runs. */
export function tenantId(base = 't'): string {
  return uniqueId(base).replace(/-/g, '_');
}

/** Writes a file into the password user's SFTP jail, owned like the user's own files. */
export function writeSftpFile(remote: string, text: string, mtime?: Date): void {
  const dir = path.posix.dirname(remote);
  mkdirLocal(dir);
  const p = localSftpPath(remote);
  fs.writeFileSync(p, text);
  const { uid, gid } = fs.statSync(localSftpPath('/upload'));
  fs.chownSync(p, uid, gid);
  if (mtime) fs.utimesSync(p, mtime, mtime);
}

export interface TenantOpts {
  dataset?: string;
  eventTypes?: EventType[];
  tables?: Partial<Record<EventType, string>>;
  folder?: string;
  maxBadShare?: number;
  ingest?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** share this config's task queue (so one worker serves both) */
  like?: Config;
}

function tenantBlock(folder: string, opts: TenantOpts) {
  const file = (pattern: string) => ({ folder, pattern, ...(opts.maxBadShare !== undefined ? { max_bad_share: opts.maxBadShare } : {}) });
  return {
    bigquery: { project_id: info.bigquery.projectId, dataset: opts.dataset ?? INGEST_DEMO_DATASET, delete_query_jobs: true, ...(opts.tables ? { tables: opts.tables } : {}) },
    users_file: file('users_*.csv'),
    locations_file: file('locations_*.csv'),
    ...(opts.eventTypes ? { event_types: opts.eventTypes } : {}),
  };
}

/**
 * The stack's demo config with one test tenant reading the demo GA4 dataset and its own SFTP
 * folder (plus `others`: more tenants in the same config, each with its own options).
 */
export function ingestConfig(tenant: string, opts: TenantOpts & { others?: Record<string, TenantOpts> } = {}): Config & { folder: string } {
  const folder = opts.folder ?? `/upload/${uniqueId('ingest')}`;
  const others = Object.fromEntries(Object.entries(opts.others ?? {}).map(([t, o]) => [t, tenantBlock(o.folder ?? folder, o)]));
  const config = testConfig({
    ingest: { ...(opts.ingest ?? {}), tenants: { [tenant]: tenantBlock(folder, opts), ...others } },
    ...(opts.extra ?? {}),
  });
  if (opts.like) config.temporal.task_queue = opts.like.temporal.task_queue;
  return Object.assign(config, { folder });
}

export async function migrated(config: Config): Promise<void> {
  await migrateIngest(config);
  await ensureIngestDemoData(info);
}

export function pool(config: Config) {
  return postgresPool(postgresSettings(config));
}

export async function startJob(client: Client, config: Config, tenant: string, body: Record<string, unknown>) {
  const input = buildIngestInput(config, { tenant, start_date: body.start_date, end_date: body.end_date, data_types: body.data_types, event_types: body.event_types });
  if (body.timeout_seconds !== undefined) input.timeout_seconds = body.timeout_seconds as number;
  return startIngestJob(client, config, input);
}

export async function runJob(client: Client, config: Config, tenant: string, body: Record<string, unknown>): Promise<IngestJob> {
  const handle = await startJob(client, config, tenant, body);
  return handle.result();
}

/** Rows per event type of a tenant in PostgreSQL. */
export async function pgEventCounts(config: Config, tenant: string, types: readonly EventType[] = EVENT_TYPES): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of types) {
    const { rows } = await pool(config).query<{ n: string }>(`SELECT count(*) AS n FROM ${eventTable(t)} WHERE tenant_id = $1`, [tenant]);
    out[t] = Number(rows[0].n);
  }
  return out;
}

export async function pgCount(config: Config, table: string, tenant: string): Promise<number> {
  const { rows } = await pool(config).query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1`, [tenant]);
  return Number(rows[0].n);
}

/** What BigQuery holds per event type for a range (the truth a job must reproduce). */
export async function bigQueryCounts(start: string, end: string, types: readonly EventType[] = EVENT_TYPES, dataset = INGEST_DEMO_DATASET): Promise<Record<string, number>> {
  const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
  const sql = types
    .map((t) => `SELECT '${t}' AS t, COUNT(*) AS n FROM \`${info.bigquery.projectId}.${dataset}.${t}\` WHERE event_date BETWEEN DATE('${start}') AND DATE('${end}')`)
    .join(' UNION ALL ');
  // the emulator reloads every stored job with its result on every request: leave none behind
  const [job] = await bq.createQueryJob({ query: sql });
  const [rows] = await job.getQueryResults();
  await job.delete().catch(() => undefined);
  return Object.fromEntries(types.map((t) => [t, Number((rows as { t: string; n: number }[]).find((r) => r.t === t)?.n ?? 0)]));
}

export function usersCsv(rows: [string, string, string][]): string {
  return ['user_id,email,company_name', ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

export const LOCATIONS_CSV = 'location_id,location_name,city,country,latitude,longitude\nL1,Store 1,Berlin,DE,52.5,13.4\nL2,"Store 2, Mitte",Berlin,DE,52.52,13.41\nL3,Store 3,Paris,FR,48.86,2.35\n';
