/**
 * The ingest family's PostgreSQL schema, as ordered migrations (applied by `bq-sftp db migrate`
 * and by every worker at start; see src/postgres/migrate.ts). Never edit an applied migration:
 * add a new one.
 */
import type { Migration } from '../postgres/migrate';
import { EVENT_TYPES, eventColumns, eventTable } from './event-types';

export const INGEST_MIGRATIONS_TABLE = 'ingest_schema_migrations';

const eventTables = EVENT_TYPES.map((t) => {
  const cols = eventColumns(t).map((c) => `  ${c.name} ${c.pg}`).join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${eventTable(t)} (
  tenant_id text NOT NULL,
${cols}
);
CREATE INDEX IF NOT EXISTS ${eventTable(t)}_tenant_date ON ${eventTable(t)} (tenant_id, event_date);`;
}).join('\n');

export const INGEST_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'ingest tables: processing_jobs, users, locations, one table per event type',
    sql: `
CREATE TABLE IF NOT EXISTS processing_jobs (
  job_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
  data_types text[] NOT NULL,
  start_date date NOT NULL,
  end_date date NOT NULL,
  records_processed jsonb NOT NULL DEFAULT '{}',
  error_message text,
  error_type text,
  bad_rows jsonb,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  workflow_run_id text,
  record_seq integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS processing_jobs_tenant_created ON processing_jobs (tenant_id, created_at DESC);
CREATE INDEX IF NOT EXISTS processing_jobs_status ON processing_jobs (status);

CREATE TABLE IF NOT EXISTS users (
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  email text,
  company_name text,
  first_name text,
  last_name text,
  created_at date,
  source_file text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE IF NOT EXISTS locations (
  tenant_id text NOT NULL,
  location_id text NOT NULL,
  location_name text,
  city text,
  country text,
  latitude double precision,
  longitude double precision,
  source_file text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, location_id)
);
${eventTables}
`,
  },
];
