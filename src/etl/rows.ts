/**
 * A staged JSONL line as the row of its table (raw_users, processed_users, dlq_users), and the
 * splitting of a file's bytes into those rows. Shared by the save on the activity's thread
 * (PostgreSQL) and the SQLite load thread, so only Node built-ins and this family's row types here.
 */
import { StringDecoder } from 'node:string_decoder';
import type { DlqRow, ProcessedRow, RawRow } from './db';

export type RowKind = 'raw' | 'processed' | 'dlq';
export type Row = RawRow | ProcessedRow | DlqRow;

/** A record's id as text (null when it has none usable). */
export function recordId(rec: unknown): string | null {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return null;
  const id = (rec as Record<string, unknown>).id;
  return typeof id === 'number' || (typeof id === 'string' && id.trim() !== '') ? String(id) : null;
}

// The id is usually the first key and the department code the last (enrichment appends it):
// read both off the line's ends instead of parsing 100,000 lines again; anything else is parsed.
const LEADING_ID = /^\{"id":(?:(\d+)|"((?:[^"\\]|\\.)*)")[,}]/;
const TRAILING_CODE = /,"department_code":(?:null|"([^"\\]*)")\}$/;

function leadingId(line: string): string | null {
  const m = LEADING_ID.exec(line);
  if (m) return m[1] ?? (JSON.parse(`"${m[2]}"`) as string);
  try {
    return recordId(JSON.parse(line));
  } catch {
    return null; // kept as text; transform dead-letters it
  }
}

function trailingCode(line: string): string | null | undefined {
  if (!LEADING_ID.test(line)) return undefined;
  const m = TRAILING_CODE.exec(line);
  return m ? (m[1] ?? null) : undefined;
}

/** A staged line as the row of its table (`n`: its line number in the file). */
export function rowOf(kind: RowKind, line: string, n: number): Row {
  if (kind === 'raw') return { line: n, id: leadingId(line), data: line };
  if (kind === 'processed') {
    const code = trailingCode(line);
    if (code !== undefined) return { id: leadingId(line) ?? '', data: line, department_code: code };
    const rec = JSON.parse(line) as Record<string, unknown>;
    const c = rec.department_code;
    return { id: recordId(rec) ?? '', data: line, department_code: typeof c === 'string' ? c : null };
  }
  const d = JSON.parse(line) as { line: number; id: string | null; rule: string; error_reason: string; record: unknown };
  return { line: d.line, id: d.id, error_reason: d.error_reason, rule: d.rule, data: typeof d.record === 'string' ? d.record : JSON.stringify(d.record) };
}

/** A file's bytes, chunk by chunk, as rows of `kind` (a line split across chunks is kept for the next). */
export class RowSplitter {
  private decoder = new StringDecoder('utf8');
  private rest = '';
  /** lines seen so far */
  lines = 0;
  constructor(private readonly kind: RowKind) {}
  /** the rows completed by `chunk` */
  push(chunk: Buffer, out: Row[] = []): Row[] {
    return this.split(this.decoder.write(chunk), out);
  }
  /** the rows left at the end of the file */
  end(out: Row[] = []): Row[] {
    this.split(this.decoder.end(), out);
    if (this.rest !== '') out.push(rowOf(this.kind, this.rest, ++this.lines));
    this.rest = '';
    return out;
  }
  private split(text: string, out: Row[]): Row[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop()!;
    for (const line of parts) if (line !== '') out.push(rowOf(this.kind, line, ++this.lines));
    return out;
  }
}
