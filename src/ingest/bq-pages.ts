/**
 * BigQuery result pages read as a stream: the `jobs.getQueryResults` (and `tabledata.list`)
 * response body is split into its rows while it arrives, so a page is never held whole in memory
 * (neither its JSON text nor the object tree the client library would build from it). Memory stays
 * one HTTP chunk and the rows of that chunk, whatever the page size; large pages cost no memory,
 * only fewer round trips.
 */
import type { BigQuery, Table } from '@google-cloud/bigquery';
import { StringDecoder } from 'node:string_decoder';
import { PassThrough, type Readable } from 'node:stream';

/** A row in BigQuery's raw REST form: `{f: [{v}, …]}` (values are strings, null, or nested). */
export type RawRow = { f: { v: unknown }[] };

/** What a page says besides its rows. */
export interface PageMeta {
  pageToken?: string;
  jobComplete?: boolean;
  totalRows?: string;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const ROWS_KEY = /"rows"\s*:\s*\[$/;

/**
 * Splits a getQueryResults (or tabledata.list) JSON body, fed in pieces, into rows (each parsed on
 * its own) and the rest of the document (`meta()`: the body with an empty `rows` array, parsed at
 * the end).
 */
export class RowsScanner<T = RawRow> {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private inRows = false;
  private outer = '';
  private partialRow = '';
  private rowOpen = false;
  private rows: T[] = [];

  /** `parseRow` turns the JSON text of one row into what `push` returns (default: JSON.parse). */
  constructor(private readonly parseRow: (json: string) => T = (json) => JSON.parse(json) as T) {}

  /** Feeds the next piece of the body; returns the rows completed in it. */
  push(text: string): T[] {
    // the state in locals while the piece is scanned (a loop over fields is several times slower)
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let inRows = this.inRows;
    let rowOpen = this.rowOpen;
    let outerFrom = inRows ? -1 : 0;
    let rowFrom = rowOpen ? 0 : -1;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
        continue;
      }
      if (c === QUOTE) {
        inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (inRows && depth === 2) {
          rowFrom = i;
          rowOpen = true;
        } else if (!inRows && depth === 1 && c === OPEN_BRACKET) {
          this.outer += text.slice(outerFrom, i + 1);
          outerFrom = i + 1;
          if (ROWS_KEY.test(this.outer)) {
            inRows = true;
            outerFrom = -1;
          }
        }
        depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (inRows && depth === 2 && rowOpen) {
          const rowText = this.partialRow + text.slice(rowFrom, i + 1);
          this.partialRow = '';
          rowOpen = false;
          rowFrom = -1;
          this.rows.push(this.parseRow(rowText));
        } else if (inRows && depth === 1) {
          inRows = false;
          outerFrom = i;
        }
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.inRows = inRows;
    this.rowOpen = rowOpen;
    if (outerFrom >= 0) this.outer += text.slice(outerFrom);
    if (rowOpen && rowFrom >= 0) this.partialRow += text.slice(rowFrom);
    const out = this.rows;
    this.rows = [];
    return out;
  }

  /** The document without its rows, once the body has ended. */
  meta(): PageMeta {
    if (this.depth !== 0 || this.inString || this.rowOpen) throw new Error('the BigQuery response ended in the middle of its JSON');
    return JSON.parse(this.outer) as PageMeta;
  }
}

/** An error as the client library makes them (code + errors[]), so callers classify both alike. */
export class BigQueryPageError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly errors: { reason?: string; message?: string }[],
  ) {
    super(message);
  }
}

function pageError(status: number, body: string): BigQueryPageError {
  let parsed: { error?: { code?: number; message?: string; errors?: { reason?: string; message?: string }[] } } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    /* not JSON */
  }
  const e = parsed?.error;
  return new BigQueryPageError(e?.message ?? `BigQuery answered HTTP ${status}: ${body.slice(0, 300)}`, e?.code ?? status, e?.errors ?? []);
}

/**
 * One page of a query job's results, streamed: `onRows` gets the rows of each arriving piece (and
 * is awaited before more is read, so a slow consumer holds back the HTTP body, not memory).
 */
export async function streamQueryPage<T = RawRow>(
  bq: BigQuery,
  job: { id?: string; location?: string },
  opts: { maxResults: number; pageToken?: string; timeoutMs?: number; signal?: AbortSignal; parseRow?: (json: string) => T },
  onRows: (rows: T[]) => Promise<void> | void,
): Promise<PageMeta> {
  const qs: Record<string, unknown> = { maxResults: opts.maxResults, 'formatOptions.useInt64Timestamp': true };
  if (job.location) qs.location = job.location;
  if (opts.pageToken) qs.pageToken = opts.pageToken;
  if (opts.timeoutMs !== undefined) qs.timeoutMs = opts.timeoutMs;
  return streamRows(bq.requestStream({ uri: `/queries/${job.id}`, qs }) as unknown as ClientStream, opts, onRows);
}

/**
 * One page of a table's rows (`tabledata.list`, no job), streamed like `streamQueryPage`;
 * timestamps as integer microseconds (`formatOptions.useInt64Timestamp`) where the service honours it.
 */
export async function streamTableDataPage<T = RawRow>(
  table: Pick<Table, 'requestStream'>,
  opts: { maxResults?: number; pageToken?: string; signal?: AbortSignal; parseRow?: (json: string) => T },
  onRows: (rows: T[]) => Promise<void> | void,
): Promise<PageMeta> {
  const qs: Record<string, unknown> = { 'formatOptions.useInt64Timestamp': true };
  if (opts.maxResults !== undefined) qs.maxResults = opts.maxResults;
  if (opts.pageToken) qs.pageToken = opts.pageToken;
  return streamRows(table.requestStream({ uri: '/data', qs }) as unknown as ClientStream, opts, onRows);
}

/** The client library's request stream (duplexify; `abort()` stops its HTTP request). */
type ClientStream = Readable & { abort?: () => void };

/** A rows-bearing response body split into rows while it arrives; its other fields at the end. */
async function streamRows<T>(
  stream: ClientStream,
  opts: { signal?: AbortSignal; parseRow?: (json: string) => T },
  onRows: (rows: T[]) => Promise<void> | void,
): Promise<PageMeta> {
  let status = 200;
  let responded = false;
  let cancelled = false;
  // abort() stops the HTTP request; before the response has arrived it would make the client's
  // retry layer throw (uncaught) when the response comes, so it waits for the response then.
  const abortRequest = () => setImmediate(() => stream.abort?.());
  stream.on('response', (res: { statusCode?: number }) => {
    status = res.statusCode ?? 200;
    responded = true;
    if (cancelled) abortRequest();
  });
  // the client's stream (duplexify) never ends an async iterator: read it through a core stream
  const body = new PassThrough();
  stream.on('error', (err: Error) => body.destroy(err));
  stream.pipe(body);
  const onAbort = () => {
    cancelled = true;
    if (responded) abortRequest();
    body.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('cancelled'));
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const decoder = new StringDecoder('utf8');
  const scanner = new RowsScanner<T>(opts.parseRow);
  let errorBody = '';
  let complete = false;
  try {
    for await (const chunk of body) {
      const text = decoder.write(chunk as Buffer);
      if (status >= 300) {
        if (errorBody.length < 64 * 1024) errorBody += text;
        continue;
      }
      const rows = scanner.push(text);
      if (rows.length) await onRows(rows);
    }
    const tail = decoder.end();
    if (status >= 300) throw pageError(status, errorBody + tail);
    if (tail) {
      const rows = scanner.push(tail);
      if (rows.length) await onRows(rows);
    }
    const meta = scanner.meta();
    if ((meta as { error?: unknown }).error) throw pageError(status, JSON.stringify(meta)); // a status the stream did not report
    complete = true;
    return meta;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!body.destroyed) body.destroy();
    // a page left early (cancel, a failed write): stop its request once it has answered
    if (!complete) {
      cancelled = true;
      if (responded) abortRequest();
    }
  }
}
