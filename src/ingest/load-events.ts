import { activityInfo, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Job } from '@google-cloud/bigquery';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { finished } from 'node:stream/promises';
import type { Config } from '../config';
import { classifyPgError } from '../postgres/client';
import { writeOrFail } from '../activities/write-or-fail';
import { streamQueryPage, type RawRow } from './bq-pages';
import { eventColumns, eventTable, type EventType } from './event-types';
import { bigqueryForTenant, eventTableRef, getTenant, IngestError, ingestConfig } from './tenants';

export interface IngestEventsInput {
  jobId: string;
  tenant: string;
  eventType: EventType;
  startDate: string;
  endDate: string;
}

export interface IngestEventsResult {
  event_type: EventType;
  rows: number;
  days: number;
  bigquery_job_id?: string;
}

/** Heartbeat details: the days already committed (a retry resumes after the last one). */
export interface EventsProgress {
  done: Record<string, number>;
  rows_in_flight: number;
}

interface BigQueryApiError extends Error {
  code?: number;
  errors?: { reason?: string; message?: string }[];
}

/** Missing tables, refused credentials and bad queries will not heal by retrying. */
export function classifyBigQueryError(err: unknown, where: { tenant: string; type: EventType; table: string }): unknown {
  if (!(err instanceof Error) || err instanceof IngestError) return err;
  const e = err as BigQueryApiError;
  const reason = e.errors?.[0]?.reason;
  const text = e.errors?.[0]?.message ?? e.message;
  const fix = `ingest.tenants.${where.tenant}.bigquery`;
  if (reason === 'notFound' || e.code === 404 || /not ?found/i.test(text)) {
    return new IngestError('BigQueryTableNotFound', `BigQuery table \`${where.table}\` (event type ${where.type}) was not found: ${text}. Check ${fix}.project_id / dataset / tables.${where.type}; retrying will not help.`);
  }
  if (reason === 'accessDenied' || reason === 'authError' || e.code === 401 || e.code === 403 || /credential|unauthenticated|permission denied|invalid_grant/i.test(text)) {
    return new IngestError('BigQueryAuthFailed', `BigQuery refused access to \`${where.table}\` (event type ${where.type}): ${text}. Check ${fix}.key_file / credentials_env and the service account's roles; retrying will not help.`);
  }
  if (reason === 'invalidQuery' || reason === 'invalid' || e.code === 400 || /^failed to (analyze|parse)/.test(text)) {
    return new IngestError('BigQueryInvalidQuery', `BigQuery refused the query of \`${where.table}\` (event type ${where.type}): ${text}. The table's columns may not match the ${where.type} schema; retrying will not help.`);
  }
  return err;
}

/** `p`, or a rejection as soon as the activity is cancelled (a slow BigQuery call must not delay a cancel). */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  const reason = () => (signal.reason instanceof Error ? signal.reason : new CancelledFailure('cancelled'));
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export type { RawRow };

/** COPY text the page reader may hold ahead of the PostgreSQL writer (characters ≈ bytes). */
const QUEUE_CHARS = 1024 * 1024;

/** One value in PostgreSQL's COPY text format. */
const NEEDS_ESCAPE = /[\\\t\n\r]/;
function copyValue(v: unknown): string {
  if (typeof v === 'string') return NEEDS_ESCAPE.test(v) ? escapeCopy(v) : v;
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return NEEDS_ESCAPE.test(s) ? escapeCopy(s) : s;
}

function escapeCopy(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** One row as a line of COPY text (`prefix` is the tenant column and its tab). */
export function copyLine(prefix: string, f: { v: unknown }[]): string {
  let line = prefix;
  for (let k = 0; k < f.length; k++) line += (k ? '\t' : '') + copyValue(f[k].v);
  return line + '\n';
}

const CELL = '{"v":';

/**
 * One row's JSON text (`{"f":[{"v":…},…]}`) straight to its COPY line and date, without building
 * the row's objects: plain string values are copied as they are (a JSON string without a
 * backslash holds no tab, newline or backslash, so it needs no COPY escaping either), anything
 * else (escapes, nested values, numbers) goes through JSON.parse. Far less garbage per row.
 */
export function copyLineFromJson(prefix: string, json: string): { date: string; line: string } {
  let line = prefix;
  let date: string | undefined;
  let at = json.indexOf(CELL);
  let first = true;
  while (at >= 0) {
    const start = at + CELL.length;
    let value: string;
    let end: number;
    if (json.charCodeAt(start) === 34 /* " */) {
      const close = json.indexOf('"', start + 1);
      const raw = json.slice(start + 1, close);
      if (raw.includes('\\')) return slowCopyLine(prefix, json);
      value = raw;
      end = close + 1;
    } else if (json.startsWith('null', start)) {
      value = '\\N';
      end = start + 4;
    } else {
      return slowCopyLine(prefix, json);
    }
    if (json.charCodeAt(end) !== 125 /* } */) return slowCopyLine(prefix, json);
    if (first) date = value;
    line += (first ? '' : '\t') + value;
    first = false;
    at = json.indexOf(CELL, end);
  }
  if (date === undefined) return slowCopyLine(prefix, json);
  return { date, line: line + '\n' };
}

function slowCopyLine(prefix: string, json: string): { date: string; line: string } {
  const f = (JSON.parse(json) as RawRow).f;
  return { date: f[0].v as string, line: copyLine(prefix, f) };
}

/** Rows of one day as COPY text, on their way from the BigQuery reader to the PostgreSQL writer. */
interface DayText {
  date: string;
  text: string;
  rows: number;
}

/**
 * The bounded hand-over between the page reader and the day writer: the reader runs ahead by at
 * most `maxChars` of COPY text (so the next page is read while this one is written, and memory
 * stays bounded whatever the row count); either side's failure stops the other.
 */
class DayTextQueue {
  private items: DayText[] = [];
  private chars = 0;
  private ended = false;
  failure: unknown;
  failed = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(private readonly maxChars: number) {}

  async push(item: DayText): Promise<void> {
    while (!this.failed && this.chars >= this.maxChars) await new Promise<void>((r) => (this.wakeReader = r));
    if (this.failed) throw this.failure;
    this.items.push(item);
    this.chars += item.text.length;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(err: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.failure = err;
    }
    this.wake();
  }

  async shift(): Promise<DayText | undefined> {
    for (;;) {
      if (this.failed) throw this.failure;
      const item = this.items.shift();
      if (item) {
        this.chars -= item.text.length;
        this.wake();
        return item;
      }
      if (this.ended) return undefined;
      await new Promise<void>((r) => (this.wakeWriter = r));
    }
  }

  private wake(): void {
    const r = this.wakeReader;
    const w = this.wakeWriter;
    this.wakeReader = this.wakeWriter = undefined;
    r?.();
    w?.();
  }
}

/** A day being loaded: its own transaction, rows streamed in with COPY. */
interface OpenDay {
  date: string;
  client: pg.PoolClient;
  copy: ReturnType<typeof copyFrom>;
  rows: number;
  buffer: string;
}

/**
 * Rows of one event type into PostgreSQL, one transaction per day: DELETE the tenant's day, COPY
 * its rows (text format, written in 256 KiB chunks with backpressure), COMMIT when the next day
 * starts or at `finish()`. Rows must come ordered by date (the first field).
 */
export class EventDayWriter {
  private open: OpenDay | undefined;
  readonly prefix: string;
  private readonly copySql: string;
  private readonly table: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly tenant: string,
    type: EventType,
    private readonly onCommit: (date: string, rows: number) => void,
  ) {
    this.prefix = `${copyValue(tenant)}\t`;
    this.table = eventTable(type);
    this.copySql = `COPY ${this.table} (tenant_id, ${eventColumns(type).map((c) => c.name).join(', ')}) FROM STDIN`;
  }

  get rowsInFlight(): number {
    return this.open?.rows ?? 0;
  }

  /** Adds a page of rows (BigQuery's raw `{f: [{v}]}` form); stops early when `stop()` says so. */
  async addRows(rows: RawRow[], stop: () => boolean = () => false): Promise<void> {
    for (const row of rows) {
      const f = row.f;
      const day = await this.dayFor(f[0].v as string, stop);
      if (!day) return;
      day.buffer += copyLine(this.prefix, f);
      day.rows++;
      if (day.buffer.length >= 256 * 1024) await this.flush(day);
    }
    if (this.open) await this.flush(this.open);
  }

  /** Adds rows of one day already in COPY text (`copyLine` with this writer's `prefix`). */
  async addDayText(date: string, text: string, rows: number, stop: () => boolean = () => false): Promise<void> {
    const day = await this.dayFor(date, stop);
    if (!day) return;
    day.buffer += text;
    day.rows += rows;
    if (day.buffer.length >= 256 * 1024) await this.flush(day);
  }

  /** The open day for `date`: a new date commits the one in flight first; undefined when `stop()` says so after that commit. */
  private async dayFor(date: string, stop: () => boolean): Promise<OpenDay | undefined> {
    if (this.open?.date === date) return this.open;
    if (this.open) {
      await this.commit();
      if (stop()) return undefined;
    }
    this.open = await this.begin(date);
    return this.open;
  }

  /** Commits the day in flight. */
  async finish(): Promise<void> {
    if (this.open) await this.commit();
  }

  /** Drops the day in flight (its connection is closed, so its transaction rolls back). */
  abort(): void {
    const day = this.open;
    this.open = undefined;
    if (!day) return;
    day.copy.destroy();
    day.client.release(true);
  }

  private async flush(day: OpenDay): Promise<void> {
    if (!day.buffer) return;
    const chunk = day.buffer;
    day.buffer = '';
    await writeOrFail(day.copy, chunk);
  }

  private async begin(date: string): Promise<OpenDay> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`DELETE FROM ${this.table} WHERE tenant_id = $1 AND event_date = $2`, [this.tenant, date]);
      const copy = client.query(copyFrom(this.copySql));
      copy.on('error', () => undefined); // surfaced by write/finished
      return { date, client, copy, rows: 0, buffer: '' };
    } catch (err) {
      client.release(true);
      throw err;
    }
  }

  private async commit(): Promise<void> {
    const day = this.open!;
    try {
      await this.flush(day);
      day.copy.end();
      await finished(day.copy);
      await day.client.query('COMMIT');
    } catch (err) {
      this.abort();
      throw err;
    }
    this.open = undefined;
    day.client.release();
    this.onCommit(day.date, day.rows);
  }
}

/**
 * Streams one event type for a date range from BigQuery pages into PostgreSQL. Each day is
 * replaced in one transaction (DELETE the tenant's day, COPY its rows, COMMIT), so a retry or a
 * rerun never duplicates a row; committed days are heartbeated and a retry resumes after them.
 */
export async function loadEvents(
  config: Config,
  pool: pg.Pool,
  input: IngestEventsInput,
  opts: { pageRows?: number; onPage?: (rows: number) => void } = {},
): Promise<IngestEventsResult> {
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  const t = getTenant(config, input.tenant);
  const type = input.eventType;
  const tableRef = eventTableRef(t, type);
  const pgTable = eventTable(type);
  const cols = eventColumns(type);
  const prev = activityInfo().heartbeatDetails as EventsProgress | undefined;
  const progress: EventsProgress = { done: { ...(prev?.done ?? {}) }, rows_in_flight: 0 };
  const doneDates = Object.keys(progress.done).sort();
  const resumeAfter = doneDates[doneDates.length - 1];
  const ticker = setInterval(() => heartbeat(progress), 2000);
  const where = { tenant: input.tenant, type, table: tableRef };

  const writer = new EventDayWriter(pool, input.tenant, type, (date, rows) => {
    progress.done[date] = rows;
    progress.rows_in_flight = 0;
    heartbeat(progress);
  });

  let bqJobId: string | undefined;
  let deleted = false;
  try {
    if (signal.aborted) throw new IngestError('Cancelled', 'cancelled');
    const bq = bigqueryForTenant(config, input.tenant, t);
    const query =
      `SELECT ${cols.map((c) => `\`${c.name}\``).join(', ')} FROM \`${tableRef}\`` +
      ` WHERE event_date BETWEEN DATE(@start_date) AND DATE(@end_date)` +
      (resumeAfter ? ' AND event_date > DATE(@resume_after)' : '') +
      ' ORDER BY event_date';
    const params: Record<string, string> = { start_date: input.startDate, end_date: input.endDate };
    if (resumeAfter) params.resume_after = resumeAfter;
    let job: Job;
    try {
      [job] = await abortable(bq.createQueryJob({ query, params }), signal);
    } catch (err) {
      throw classifyBigQueryError(err, where);
    }
    bqJobId = job.id;
    const pageRows = opts.pageRows ?? ingestConfig(config).page_rows;
    // The reader streams pages from BigQuery and turns their rows into COPY text; the writer
    // copies it into PostgreSQL at the same time, one transaction per day. The reader goes on to
    // the next page while the writer catches up, at most QUEUE_CHARS ahead.
    const queue = new DayTextQueue(QUEUE_CHARS);
    const prefix = writer.prefix;
    const read = async () => {
      try {
        let pageToken: string | undefined;
        for (;;) {
          if (signal.aborted) throw new IngestError('Cancelled', 'cancelled');
          let n = 0;
          const parseRow = (json: string) => copyLineFromJson(prefix, json);
          const meta = await streamQueryPage(bq, job, { maxResults: pageRows, pageToken, timeoutMs: 10_000, signal, parseRow }, async (rows) => {
            n += rows.length;
            let date = rows[0].date;
            let text = '';
            let count = 0;
            for (const row of rows) {
              if (row.date !== date) {
                await queue.push({ date, text, rows: count });
                date = row.date;
                text = '';
                count = 0;
              }
              text += row.line;
              count++;
            }
            await queue.push({ date, text, rows: count });
          });
          opts.onPage?.(n);
          // an unfinished query answers without rows: ask again for the same page
          if (meta.jobComplete === false) continue;
          pageToken = meta.pageToken;
          if (!pageToken) break;
        }
        queue.end();
      } catch (err) {
        queue.fail(queue.failed ? queue.failure : classifyBigQueryError(err, where));
      }
    };
    const write = async () => {
      try {
        for (let item = await queue.shift(); item; item = await queue.shift()) {
          await writer.addDayText(item.date, item.text, item.rows, () => signal.aborted);
          if (signal.aborted) throw new IngestError('Cancelled', 'cancelled');
          progress.rows_in_flight = writer.rowsInFlight;
        }
      } catch (err) {
        queue.fail(err);
      }
    };
    await Promise.all([read(), write()]);
    if (queue.failed) throw queue.failure;
    if (t.bigquery.delete_query_jobs) {
      await job.delete().catch(() => undefined);
      deleted = true;
    }
    await writer.finish();
    // days of the range without any event: their old rows go too (the range is replaced)
    const seen = Object.keys(progress.done);
    await pool.query(
      `DELETE FROM ${pgTable} WHERE tenant_id = $1 AND event_date BETWEEN $2 AND $3 AND NOT (event_date = ANY($4::date[]))`,
      [input.tenant, input.startDate, input.endDate, seen],
    );
    const total = Object.values(progress.done).reduce((a, b) => a + b, 0);
    return { event_type: type, rows: total, days: seen.length, bigquery_job_id: bqJobId };
  } catch (err) {
    writer.abort();
    if (bqJobId && (signal.aborted || (t.bigquery.delete_query_jobs && !deleted))) {
      const bqJob = bigqueryForTenant(config, input.tenant, t).job(bqJobId);
      void (async () => {
        if (signal.aborted) await bqJob.cancel().catch(() => undefined);
        if (t.bigquery.delete_query_jobs) await bqJob.delete().catch(() => undefined);
      })();
    }
    if (signal.aborted) throw ctx.cancellationSignal.reason ?? err;
    throw classifyPgError(err);
  } finally {
    clearInterval(ticker);
  }
}
