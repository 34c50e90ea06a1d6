/**
 * The worker-side Parquet writer: BigQuery rows (newline-delimited JSON from an extract job) →
 * Parquet with Snappy (hyparquet-writer, pure JS), streamed to any Writable. Used whenever the
 * BigQuery service cannot write Parquet itself (the emulator's extract writes only CSV and JSON).
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';

/** A BigQuery schema field (tables.get). */
export interface BqField {
  name: string;
  type: string;
  mode?: string;
  fields?: BqField[];
}

type Kind = 'int64' | 'double' | 'bool' | 'string' | 'bytes' | 'date' | 'timestamp' | 'datetime' | 'json';

interface Column {
  name: string;
  kind: Kind;
  element: SchemaElement;
  values: unknown[];
}

/** How each BigQuery type is written. NUMERIC/BIGNUMERIC, TIME and GEOGRAPHY as strings; RECORD and REPEATED as JSON text. */
function kindOf(f: BqField): Kind {
  if (f.mode === 'REPEATED' || f.type === 'RECORD' || f.type === 'STRUCT' || f.type === 'JSON') return 'json';
  switch (f.type) {
    case 'INTEGER':
    case 'INT64':
      return 'int64';
    case 'FLOAT':
    case 'FLOAT64':
      return 'double';
    case 'BOOLEAN':
    case 'BOOL':
      return 'bool';
    case 'BYTES':
      return 'bytes';
    case 'DATE':
      return 'date';
    case 'TIMESTAMP':
      return 'timestamp';
    case 'DATETIME':
      return 'datetime';
    default:
      return 'string';
  }
}

function schemaElement(f: BqField, kind: Kind): SchemaElement {
  const repetition_type = f.mode === 'REQUIRED' ? 'REQUIRED' : 'OPTIONAL';
  const base = { name: f.name, repetition_type } as const;
  switch (kind) {
    case 'int64':
      return { ...base, type: 'INT64' };
    case 'double':
      return { ...base, type: 'DOUBLE' };
    case 'bool':
      return { ...base, type: 'BOOLEAN' };
    case 'bytes':
      return { ...base, type: 'BYTE_ARRAY' };
    case 'date':
      return { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'timestamp':
      return { ...base, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } };
    case 'datetime':
      return { ...base, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } };
    case 'json':
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } };
    default:
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
  }
}

const TS = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

/** A BigQuery timestamp as microseconds since the epoch: text ('2025-01-08 06:15:00.123456 UTC') or seconds (tabledata's '1.7E9'). */
export function timestampMicros(v: unknown, column: string): bigint {
  if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v))) {
    return BigInt(Math.round(Number(v) * 1e6));
  }
  const m = typeof v === 'string' ? TS.exec(v.trim()) : null;
  if (!m) throw new Error(`column ${column}: ${JSON.stringify(v)} is not a timestamp`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (tz && /^[+-]/.test(tz)) {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
  }
  return BigInt(ms) * 1000n + BigInt((frac + '000000').slice(0, 6));
}

function dateDays(v: unknown, column: string): number {
  const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v.trim()) : null;
  if (!m) throw new Error(`column ${column}: ${JSON.stringify(v)} is not a date (YYYY-MM-DD)`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

function convert(kind: Kind, v: unknown, column: string): unknown {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'int64':
      return BigInt(typeof v === 'number' ? Math.trunc(v) : String(v));
    case 'double':
      return Number(v);
    case 'bool':
      return v === true || v === 'true' || v === 'TRUE' || v === 1;
    case 'bytes':
      return Buffer.from(String(v), 'base64');
    case 'date':
      return dateDays(v, column);
    case 'timestamp':
    case 'datetime':
      return timestampMicros(v, column);
    case 'json':
      // the writer serialises JSON columns itself; a JSON-typed column arrives as its text
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v;
      }
    default:
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

const TEXT_KINDS = new Set<Kind>(['string', 'bytes', 'json']);

export interface ParquetFileResult {
  rows: number;
  bytes: number;
}

/**
 * A Parquet file written incrementally: `add(row)` buffers up to `rowGroupRows` rows per column,
 * each full row group is encoded (Snappy) and its bytes handed to `write`, which may apply
 * backpressure. Memory stays at about one row group whatever the table size.
 */
export class StreamingParquetFile {
  private readonly columns: Column[];
  private readonly bytesOut: ByteWriter;
  private readonly writer: ParquetWriter;
  private buffered = 0;
  rows = 0;
  bytes = 0;

  constructor(
    fields: BqField[],
    private readonly write: (chunk: Buffer) => Promise<void>,
    private readonly opts: { codec: 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP' | 'ZSTD'; rowGroupRows?: number; createdBy?: string; statisticsTruncateLength?: number; statistics?: boolean },
  ) {
    if (fields.length === 0) throw new Error('a table without columns cannot be written as Parquet');
    this.columns = fields.map((f) => {
      const kind = kindOf(f);
      return { name: f.name, kind, element: schemaElement(f, kind), values: [] };
    });
    this.bytesOut = new ByteWriter(1 << 20);
    this.writer = new ParquetWriter({
      writer: this.bytesOut,
      schema: [{ name: 'root', num_children: this.columns.length }, ...this.columns.map((c) => c.element)],
      codec: opts.codec,
      createdBy: opts.createdBy ?? 'bq-sftp',
      ...(opts.statistics !== undefined ? { statistics: opts.statistics } : {}),
      ...(opts.statisticsTruncateLength !== undefined ? { statisticsTruncateLength: opts.statisticsTruncateLength } : {}),
    });
  }

  async add(row: Record<string, unknown>): Promise<void> {
    for (const c of this.columns) c.values.push(convert(c.kind, row[c.name], c.name));
    this.buffered++;
    this.rows++;
    if (this.buffered >= (this.opts.rowGroupRows ?? 50_000)) await this.flushGroup();
  }

  private async drainBytes(): Promise<void> {
    const w = this.bytesOut;
    if (w.index === 0) return;
    const chunk = Buffer.from(w.buffer.slice(0, w.index));
    w.index = 0;
    this.bytes += chunk.length;
    await this.write(chunk);
  }

  private async flushGroup(): Promise<void> {
    if (this.buffered === 0) return;
    // No min/max statistics for text and bytes: the writer truncates long ones and flags them
    // (is_max_value_exact), which the Go parquet reader of the BigQuery emulator cannot decode.
    const columnData = this.columns.map((c) => ({ name: c.name, data: c.values, ...(TEXT_KINDS.has(c.kind) ? { statistics: false } : {}) }));
    await this.writer.write({ columnData, rowGroupSize: this.buffered });
    for (const c of this.columns) c.values = [];
    this.buffered = 0;
    await this.drainBytes();
  }

  async finish(): Promise<ParquetFileResult> {
    await this.flushGroup();
    await this.writer.finish();
    await this.drainBytes();
    return { rows: this.rows, bytes: this.bytes };
  }
}

/** Lines of newline-delimited JSON as objects. */
export async function* ndjsonRows(source: Readable): AsyncGenerator<Record<string, unknown>> {
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    yield JSON.parse(line) as Record<string, unknown>;
  }
}

/** Writes to a Writable, waiting for 'drain' when its buffer is full. */
export function writeWithBackpressure(out: Writable): (chunk: Buffer) => Promise<void> {
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      out.once('error', onError);
      const done = () => {
        out.off('error', onError);
        resolve();
      };
      if (out.write(chunk)) done();
      else out.once('drain', done);
    });
}

/** Parquet codec name for a config compression. */
export function parquetCodec(compression: string): 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP' | 'ZSTD' {
  if (compression === 'NONE') return 'UNCOMPRESSED';
  if (compression === 'GZIP' || compression === 'ZSTD') return compression;
  return 'SNAPPY';
}
