/**
 * The records of the one-pass extract turned into the three staged texts (raw, processed, dead
 * letters) as UTF-8 bytes: each record validated and enriched (record.ts), its raw line the text
 * the source sent, its processed line that text with the lookups' columns appended, its dead
 * letter that text inside `{line, id, rule, error_reason, record}`. No Node built-ins or clients
 * here.
 */
import { ByteChunk } from './byte-chunk';
import type { LoadedLookup } from './enrich';
import { appendedTail, closingBrace } from './json-slices';
import { processRecord } from './record';
import type { schemaForPipeline } from './validation';

export type StageKind = 'raw' | 'processed' | 'dlq';
export const STAGE_KINDS: StageKind[] = ['raw', 'processed', 'dlq'];

export interface StageContext {
  schema: ReturnType<typeof schemaForPipeline>;
  lookups: LoadedLookup[];
  fast?: (rec: Record<string, unknown>) => boolean;
  seen: Map<string, number>;
}

/** What one chunk of records staged: the three texts' bytes and the counts. */
export interface StagedChunk {
  raw: Buffer;
  processed: Buffer;
  dlq: Buffer;
  records: number;
  processed_n: number;
  dead: number;
  reasons: Record<string, number>;
}

export class RecordStager {
  private readonly pools: Record<StageKind, Buffer[]> = { raw: [], processed: [], dlq: [] };
  private chunk = this.fresh();
  constructor(
    private readonly ctx: StageContext,
    /** the lookups' columns appendable to a record's text (appendableColumns), or undefined */
    private readonly appended: string[] | undefined,
    /** lines of the raw file before the first record taken */
    private line: number,
  ) {}

  private fresh() {
    return {
      raw: new ByteChunk(this.pools.raw),
      processed: new ByteChunk(this.pools.processed),
      dlq: new ByteChunk(this.pools.dlq, 1 << 18),
      records: 0,
      processed_n: 0,
      dead: 0,
      reasons: {} as Record<string, number>,
    };
  }

  /** a buffer handed out by `cut` and back: filled again by a later chunk */
  recycle(kind: StageKind, buf: Buffer): void {
    if (this.pools[kind].length < 2) this.pools[kind].push(buf);
  }

  /** bytes of the raw text in the chunk being filled */
  get rawBytes(): number {
    return this.chunk.raw.length;
  }

  /** a stored raw line of an earlier attempt: only its id is remembered (a repeat is a dead letter) */
  remember(text: string, line: number): void {
    try {
      processRecord(JSON.parse(text), line, this.ctx);
    } catch {
      /* a line that is not JSON was a dead letter */
    }
  }

  /** one page's records: their texts as sent, and the parsed records when the caller has them */
  take(texts: string[], records?: unknown[]): void {
    const chunk = this.chunk;
    const appended = this.appended;
    for (let i = 0; i < texts.length; i++) {
      const raw = texts[i];
      const rec = records ? records[i] : JSON.parse(raw);
      const line = ++this.line;
      const isObj = rec !== null && typeof rec === 'object' && !Array.isArray(rec);
      // appending the columns to the text is the same record only when none of them is there yet
      const append = appended !== undefined && isObj && !appended.some((k) => Object.prototype.hasOwnProperty.call(rec, k));
      const r = processRecord(rec, line, this.ctx);
      chunk.raw.line(raw);
      if (r.ok) {
        chunk.processed_n++;
        // the record's own text up to its closing brace, then the lookups' columns
        const end = append ? closingBrace(raw) : undefined;
        if (end !== undefined) {
          chunk.processed.text(raw.slice(0, end));
          chunk.processed.line(appendedTail(appended!.map((k) => [k, r.value[k]])));
        } else chunk.processed.line(JSON.stringify(r.value));
      } else {
        const d = r.dead;
        chunk.dead++;
        chunk.reasons[d.rule] = (chunk.reasons[d.rule] ?? 0) + 1;
        chunk.dlq.text(`{"line":${d.line},"id":${JSON.stringify(d.id)},"rule":${JSON.stringify(d.rule)},"error_reason":${JSON.stringify(d.error_reason)},"record":`);
        chunk.dlq.text(raw);
        chunk.dlq.line('}');
      }
    }
    chunk.records += texts.length;
  }

  /**
   * The chunk filled so far (its buffers' views, valid until `release` is called with them), and
   * a fresh one to fill.
   */
  cut(): StagedChunk & { release: () => void } {
    const c = this.chunk;
    this.chunk = this.fresh();
    return {
      raw: c.raw.bytes(),
      processed: c.processed.bytes(),
      dlq: c.dlq.bytes(),
      records: c.records,
      processed_n: c.processed_n,
      dead: c.dead,
      reasons: c.reasons,
      release: () => STAGE_KINDS.forEach((k) => c[k].release()),
    };
  }
}
