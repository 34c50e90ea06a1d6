import type { Config } from '../config';
import { describeUrl } from '../postgres/client';
import { migrateIngest } from './activities';

/**
 * Run by every worker at start when `postgres.url` is set (and `postgres.migrate_on_start` is not
 * false): the ingest tables exist before the first job. A database that is down does not stop
 * the worker (other families do not need it); the jobs retry until it is back.
 */
export async function migrateIngestOnStart(config: Config, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const pg = (config as { postgres?: { url?: string; migrate_on_start?: boolean } }).postgres;
  if (!pg?.url || pg.migrate_on_start === false) return;
  try {
    const r = await migrateIngest(config);
    if (r.applied.length) write(`ingest: applied PostgreSQL migrations ${r.applied.map((a) => a.version).join(', ')} at ${describeUrl(pg.url)}`);
  } catch (err) {
    write(`ingest: PostgreSQL migrations at ${describeUrl(pg.url)} could not run now (${(err as Error).message}); run \`bq-sftp db migrate\``);
  }
}
