/**
 * The worker-side Parquet path's reader: a table's rows with BigQuery's `tabledata.list` (no
 * extract job), split into rows while the response arrives (src/ingest/bq-pages.ts), handed to a
 * Parquet writer part file by part file. Kept apart from the writer (src/backup/parquet.ts, whose
 * library loads on first use) so the request goes out before that library is loaded.
 */
import type { Table } from '@google-cloud/bigquery';
import { streamTableDataPage, type RawRow } from '../ingest/bq-pages';

/** A tabledata row's values in schema order (`row.f[i].v`). */
export type RowValues = unknown[];

/** What the reader needs of a Parquet file writer (StreamingParquetFile). */
export interface ParquetFileWriter {
  readonly rows: number;
  /** buffers a row; true when a row group is full and `flushGroup()` is due */
  push(values: RowValues): boolean;
  flushGroup(): Promise<void>;
  finish(): Promise<unknown>;
}

const CELL = '{"v":';

/**
 * One tabledata row's JSON text (`{"f":[{"v":…},…]}`) → its values, without building the
 * `{f:[{v}]}` objects: plain strings (no backslash, so no escapes and no quote inside) and nulls
 * are taken as they are; anything else (escapes, nested values) goes through JSON.parse.
 */
export function rowValues(json: string): RowValues {
  const out: unknown[] = [];
  let at = json.indexOf(CELL);
  while (at >= 0) {
    const start = at + CELL.length;
    let end: number;
    if (json.charCodeAt(start) === 34 /* " */) {
      const close = json.indexOf('"', start + 1);
      if (close < 0) return parsedValues(json);
      const raw = json.slice(start + 1, close);
      if (raw.includes('\\')) return parsedValues(json);
      out.push(raw);
      end = close + 1;
    } else if (json.startsWith('null', start)) {
      out.push(null);
      end = start + 4;
    } else {
      return parsedValues(json);
    }
    if (json.charCodeAt(end) !== 125 /* } */) return parsedValues(json);
    at = json.indexOf(CELL, end);
  }
  return out.length ? out : parsedValues(json);
}

function parsedValues(json: string): RowValues {
  const f = (JSON.parse(json) as RawRow).f;
  if (!Array.isArray(f)) throw new Error(`a tabledata row without its values ({"f": [...]}): ${json.slice(0, 200)}`);
  return f.map((c) => c?.v);
}

/** Where one Parquet part file goes: its bytes (with backpressure), then stored, or discarded when the read fails. */
export interface ParquetPartSink {
  write(chunk: Buffer): Promise<void>;
  /** the file is complete: store it */
  end(): Promise<void>;
  /** the read failed: store nothing of it */
  discard(): Promise<void>;
}

export interface TableToParquetArgs {
  /** the table (the BigQuery client's Table: its endpoint, project and auth) */
  table: Pick<Table, 'requestStream'>;
  /** a Parquet writer of the table's schema (src/backup/parquet.ts StreamingParquetFile) writing to `write` */
  newFile(write: (chunk: Buffer) => Promise<void>): ParquetFileWriter;
  /** tables.get's numRows: asked for in one response (a service that pages anyway, at ~10 MB a page, is followed by its pageToken) */
  numRows?: number;
  /** a new part file every this many rows */
  rowsPerFile: number;
  /** part file `index` (0, 1, …) */
  openPart(index: number): ParquetPartSink;
  signal?: AbortSignal;
  /** rows written so far, after each piece of the body */
  onProgress?(rows: number): void;
}

export interface TableToParquetResult {
  rows: number;
  files: number;
  /** BigQuery's totalRows (what the rows read were checked against) */
  total_rows?: number;
  pages: number;
  /** wall seconds waiting for and parsing tabledata.list's bodies, and in the writer (convert, encode, store) */
  seconds: { read: number; parquet_writer: number };
}

/** A guard of the worker-side reader: `retryable` says whether another attempt can help. */
export class TableReadError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * A table's rows read with `tabledata.list` (no extract job) and written as Parquet part files
 * (`rowsPerFile` rows each; an empty table gets one file with its schema). The rows read must be
 * the `totalRows` BigQuery announced; on any failure the open part is discarded (nothing partial stored).
 */
export async function tableToParquet(a: TableToParquetArgs): Promise<TableToParquetResult> {
  const started = performance.now();
  let writerMs = 0;
  let part = 0;
  let total = 0;
  let announced: number | undefined;
  let pages = 0;
  let current: { file: ParquetFileWriter; sink: ParquetPartSink } | undefined;
  const open = () => {
    const sink = a.openPart(part++);
    return { sink, file: a.newFile((chunk) => sink.write(chunk)) };
  };
  const close = async () => {
    if (!current) return;
    const c = current;
    current = undefined;
    await c.file.finish();
    await c.sink.end();
  };
  const tokens = new Set<string>();
  let pageToken: string | undefined;
  try {
    do {
      const remaining = a.numRows !== undefined && a.numRows > 0 ? a.numRows - total : (announced ?? 0) - total;
      const meta = await streamTableDataPage(
        a.table,
        { ...(remaining > 0 ? { maxResults: remaining } : {}), pageToken, signal: a.signal, parseRow: rowValues },
        async (rows) => {
          const t0 = performance.now();
          for (const row of rows) {
            current ??= open();
            if (current.file.push(row)) await current.file.flushGroup();
            total++;
            if (current.file.rows >= a.rowsPerFile) await close();
          }
          writerMs += performance.now() - t0;
          a.onProgress?.(total);
        },
      );
      pages++;
      if (meta.totalRows !== undefined) announced = Number(meta.totalRows);
      pageToken = meta.pageToken || undefined;
      if (pageToken !== undefined) {
        if (tokens.has(pageToken)) throw new TableReadError('BigQueryPagingLoop', `tabledata.list answered page token ${JSON.stringify(pageToken)} a second time after ${total} rows: the listing would not end`, false);
        tokens.add(pageToken);
      }
    } while (pageToken !== undefined);
    if (announced !== undefined && total !== announced) {
      throw new TableReadError('RowCountMismatch', `tabledata.list announced ${announced} rows and sent ${total} (did the table change while it was read?); the files written are removed and the table is read again`, true);
    }
    const t0 = performance.now();
    current ??= open(); // an empty table still gets one (empty) Parquet file with its schema
    await close();
    writerMs += performance.now() - t0;
  } catch (err) {
    const open = current;
    current = undefined;
    await open?.sink.discard().catch(() => undefined);
    throw err;
  }
  const wall = performance.now() - started;
  const s = (ms: number) => Math.round(ms) / 1000;
  return { rows: total, files: part, ...(announced !== undefined ? { total_rows: announced } : {}), pages, seconds: { read: s(wall - writerMs), parquet_writer: s(writerMs) } };
}
