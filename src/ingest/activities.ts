import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../activities';
import { toApplicationFailure } from '../activities/failures';
import { classifyPgError, postgresPool, postgresSettings } from '../postgres/client';
import { migrate } from '../postgres/migrate';
import type { Config } from '../config';
import type { DataType, EventType } from './event-types';
import type { IngestJob } from './job';
import { upsertJob } from './jobs-repo';
import { loadEvents, type IngestEventsInput, type IngestEventsResult } from './load-events';
import { loadReportFile, type IngestFileInput, type IngestFileResult } from './load-file';
import { INGEST_MIGRATIONS, INGEST_MIGRATIONS_TABLE } from './migrations';
import { getTenant, IngestError, ingestConfig } from './tenants';

export interface IngestPlanInput {
  tenant: string;
  data_types: DataType[];
  event_types?: EventType[];
}

export interface IngestPlan {
  event_types: EventType[];
  max_parallel: number;
}

/** Runs the ingest migrations (idempotent): `bq-sftp db migrate` and every worker start. */
export async function migrateIngest(config: Config) {
  const settings = postgresSettings(config);
  return migrate(postgresPool(settings), INGEST_MIGRATIONS, INGEST_MIGRATIONS_TABLE);
}

async function mapped<T>(service: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (Context.current().cancellationSignal.aborted && !(err instanceof ApplicationFailure)) {
      throw err instanceof CancelledFailure ? err : new CancelledFailure('cancelled');
    }
    throw toApplicationFailure(classifyPgError(err), service);
  }
}

/** The ingest family's activities (seed 001): BigQuery events and SFTP reports → PostgreSQL. */
export function createIngestActivities(deps: ActivityDeps) {
  const pool = () => postgresPool(postgresSettings(deps.config));
  return {
    /** Checks the tenant and what the job asks for; returns the event types to pull. */
    async ingestPlan(input: IngestPlanInput): Promise<IngestPlan> {
      return mapped('ingest', async () => {
        const t = getTenant(deps.config, input.tenant);
        for (const kind of ['users', 'locations'] as const) {
          if (input.data_types.includes(kind) && !(kind === 'users' ? t.users_file : t.locations_file)) {
            throw new IngestError('IngestNotConfigured', `ingest.tenants.${input.tenant}.${kind}_file is not set: add { "folder": "/upload/…", "pattern": "${kind}_*.csv" } or leave "${kind}" out of data_types`);
          }
        }
        const eventTypes = input.event_types?.length ? input.event_types : t.event_types;
        return { event_types: eventTypes, max_parallel: ingestConfig(deps.config).max_parallel };
      });
    },
    async ingestEvents(input: IngestEventsInput): Promise<IngestEventsResult> {
      return mapped('BigQuery → PostgreSQL', () => loadEvents(deps.config, pool(), input));
    },
    async ingestFile(input: IngestFileInput): Promise<IngestFileResult> {
      return mapped('SFTP → PostgreSQL', () => loadReportFile(deps.config, pool(), deps.sftpPool, input));
    },
    /** Mirrors the job record into processing_jobs. */
    async recordIngestJob(input: { job: IngestJob; run_id?: string; seq?: number }): Promise<void> {
      return mapped('PostgreSQL', () => upsertJob(pool(), input.job, input.run_id, input.seq));
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
export type { IngestEventsInput, IngestEventsResult, IngestFileInput, IngestFileResult };
