/**
 * The worker-side Parquet writer: a table's rows as BigQuery's `tabledata.list` returns them
 * (values in schema order, read by src/backup/table-read.ts) → Parquet with Snappy
 * (hyparquet-writer, pure JS), streamed to any sink. Used whenever the BigQuery service cannot
 * write Parquet itself (the emulator's extract writes only CSV and JSON).
 */
import type { Writable } from 'node:stream';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { writeOrFail } from '../activities/write-or-fail';
import type { RowValues } from './table-read';

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
  field: BqField;
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

const isDigit = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};
const num = (s: string, from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
};
/** Date.UTC, also for years 0–99 (which Date.UTC maps to 1900–1999; BigQuery's dates start at 0001-01-01). */
function utcMs(y: number, mo: number, d: number, h = 0, mi = 0, sec = 0): number {
  if (y >= 100) return Date.UTC(y, mo, d, h, mi, sec);
  const t = new Date(Date.UTC(2000, mo, d, h, mi, sec));
  t.setUTCFullYear(y);
  return t.getTime();
}
const UTC_SUFFIXES = new Set(['', 'Z', 'z', ' UTC', 'UTC', '+00:00', '+00', '+0000']);

/**
 * The shape extracts write, `YYYY-MM-DD[T ]HH:MM:SS[.f…][Z| UTC|+00:00]`, without a regular
 * expression (one per row and column is most of the conversion's time); undefined for anything else.
 */
function utcTimestampMicros(s: string): bigint | undefined {
  const n = s.length;
  if (n < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 32) return undefined;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(s, i)) return undefined;
  let i = 19;
  let micros = 0;
  if (i < n && s.charCodeAt(i) === 46) {
    const start = ++i;
    while (i < n && isDigit(s, i)) i++;
    const digits = i - start;
    if (digits === 0 || digits > 9) return undefined;
    micros = num(s, start, start + Math.min(digits, 6)) * 10 ** Math.max(0, 6 - digits);
  }
  if (!UTC_SUFFIXES.has(i === n ? '' : s.slice(i))) return undefined;
  const ms = utcMs(num(s, 0, 4), num(s, 5, 7) - 1, num(s, 8, 10), num(s, 11, 13), num(s, 14, 16), num(s, 17, 19));
  return Number.isSafeInteger(ms * 1000 + micros) ? BigInt(ms * 1000 + micros) : BigInt(ms) * 1000n + BigInt(micros);
}

/**
 * A BigQuery timestamp as microseconds since the epoch from its text ('2025-01-08 06:15:00.123456 UTC',
 * the emulator's nested '… +00') or seconds (tabledata without useInt64Timestamp: '1.7E9').
 */
export function timestampMicros(v: unknown, column: string): bigint {
  if (typeof v === 'string') {
    const fast = utcTimestampMicros(v);
    if (fast !== undefined) return fast;
  }
  if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v))) {
    return BigInt(Math.round(Number(v) * 1e6));
  }
  const m = typeof v === 'string' ? TS.exec(v.trim()) : null;
  if (!m) throw new Error(`column ${column}: ${JSON.stringify(v)} is not a timestamp`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz] = m;
  let ms = utcMs(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (tz && /^[+-]/.test(tz)) {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
  }
  return BigInt(ms) * 1000n + BigInt((frac + '000000').slice(0, 6));
}

function dateDays(v: unknown, column: string): number {
  // 'YYYY-MM-DD' without a regular expression
  if (typeof v === 'string' && v.length === 10 && v.charCodeAt(4) === 45 && v.charCodeAt(7) === 45) {
    let ok = true;
    for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) ok &&= isDigit(v, i);
    if (ok) return utcMs(num(v, 0, 4), num(v, 5, 7) - 1, num(v, 8, 10)) / 86_400_000;
  }
  const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v.trim()) : null;
  if (!m) throw new Error(`column ${column}: ${JSON.stringify(v)} is not a date (YYYY-MM-DD)`);
  return utcMs(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

/** An all-digit string (optionally negative): tabledata's integer microseconds (useInt64Timestamp). */
function isIntegerText(v: string): boolean {
  const n = v.length;
  let i = n > 0 && v.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) if (!isDigit(v, i)) return false;
  return true;
}

/** tabledata's TIMESTAMP: integer microseconds as asked (useInt64Timestamp); text or seconds where a service ignores that (nested values on the emulator). */
function tabledataTimestamp(v: unknown, column: string): bigint {
  return typeof v === 'string' && isIntegerText(v) ? BigInt(v) : timestampMicros(v, column);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Microseconds since the epoch as BigQuery writes a timestamp in JSON: 'YYYY-MM-DD HH:MM:SS.ffffff UTC'. */
function timestampText(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const d = new Date(Number(ms));
  const frac = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(Number(frac), 6)} UTC`;
}

/**
 * A RECORD or REPEATED value of tabledata (`{f: [{v}]}` / `[{v}, …]`) as plain JSON: records as
 * objects by field name, arrays as arrays, leaves as the text BigQuery sends (timestamps as UTC text).
 */
function nestedJson(field: BqField, v: unknown, column: string, inArray = false): unknown {
  if (v === null || v === undefined) return null;
  if (field.mode === 'REPEATED' && !inArray) {
    if (!Array.isArray(v)) throw new Error(`column ${column}: ${JSON.stringify(v).slice(0, 100)} is not a REPEATED value ([{v}, …])`);
    return (v as { v: unknown }[]).map((x) => nestedJson(field, x?.v, column, true));
  }
  if (field.type === 'RECORD' || field.type === 'STRUCT') {
    const f = (v as { f?: { v: unknown }[] }).f;
    if (!Array.isArray(f)) throw new Error(`column ${column}: ${JSON.stringify(v).slice(0, 100)} is not a RECORD value ({f: [{v}, …]})`);
    const out: Record<string, unknown> = {};
    (field.fields ?? []).forEach((sub, i) => (out[sub.name] = nestedJson(sub, f[i]?.v, `${column}.${sub.name}`)));
    return out;
  }
  if (field.type === 'TIMESTAMP' && typeof v === 'string' && isIntegerText(v)) return timestampText(BigInt(v));
  return v;
}

/** One tabledata value of a top-level column, converted for its Parquet column. */
function convert(c: Column, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (c.kind) {
    case 'int64':
      return BigInt(typeof v === 'number' ? Math.trunc(v) : typeof v === 'string' ? v : String(v));
    case 'double':
      return Number(v); // also 'NaN', 'Infinity', '-Infinity'
    case 'bool':
      return v === true || v === 'true' || v === 'TRUE';
    case 'bytes':
      return Buffer.from(String(v), 'base64');
    case 'date':
      return dateDays(v, c.name);
    case 'timestamp':
      return tabledataTimestamp(v, c.name);
    case 'datetime':
      return timestampMicros(v, c.name);
    case 'json':
      if (c.field.mode === 'REPEATED' || c.field.type === 'RECORD' || c.field.type === 'STRUCT') return nestedJson(c.field, v, c.name);
      // a JSON column arrives as its text; the writer serialises JSON columns itself
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
      return { name: f.name, kind, field: f, element: schemaElement(f, kind), values: [] };
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

  async add(values: RowValues): Promise<void> {
    if (this.push(values)) await this.flushGroup();
  }

  /** Buffers one row (tabledata's values in schema order) without waiting; true when a row group is full and `flushGroup()` is due. */
  push(values: RowValues): boolean {
    const columns = this.columns;
    if (values.length !== columns.length) {
      throw new Error(`a row with ${values.length} values for the table's ${columns.length} columns: ${JSON.stringify(values).slice(0, 200)}`);
    }
    for (let i = 0; i < columns.length; i++) columns[i].values.push(convert(columns[i], values[i]));
    this.buffered++;
    this.rows++;
    return this.buffered >= (this.opts.rowGroupRows ?? 50_000);
  }

  private async drainBytes(): Promise<void> {
    const w = this.bytesOut;
    if (w.index === 0) return;
    const chunk = Buffer.from(w.buffer.slice(0, w.index));
    w.index = 0;
    this.bytes += chunk.length;
    await this.write(chunk);
  }

  /** Encodes the buffered rows as one row group and hands its bytes to `write`. */
  async flushGroup(): Promise<void> {
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

/** Writes to a Writable, waiting for 'drain' when its buffer is full, failing at once if it already failed. */
export function writeWithBackpressure(out: Writable): (chunk: Buffer) => Promise<void> {
  return (chunk) => writeOrFail(out, chunk);
}

/** Parquet codec name for a config compression. */
export function parquetCodec(compression: string): 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP' | 'ZSTD' {
  if (compression === 'NONE') return 'UNCOMPRESSED';
  if (compression === 'GZIP' || compression === 'ZSTD') return compression;
  return 'SNAPPY';
}
