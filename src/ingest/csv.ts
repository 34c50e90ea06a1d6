/**
 * A small streaming CSV reader (RFC 4180: quoted fields, "" escapes, CRLF or LF, newlines inside
 * quotes) that reports the line number each record starts on, so bad rows can be named.
 */
export interface CsvRecord {
  fields: string[];
  /** 1-based line of the file where the record starts */
  line: number;
}

export class CsvReader {
  private field = '';
  private fields: string[] = [];
  private inQuotes = false;
  private quoteSeen = false;
  private line = 1;
  private recordLine = 1;
  private pendingCr = false;
  private fieldStarted = false;

  constructor(private readonly delimiter = ',') {}

  /** Feeds text; returns the records completed by it. */
  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const d = this.delimiter;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === '\n') continue;
      }
      if (this.inQuotes) {
        if (c === '"') {
          if (this.quoteSeen) {
            this.field += '"';
            this.quoteSeen = false;
          } else this.quoteSeen = true;
          continue;
        }
        if (this.quoteSeen) {
          // the closing quote was real: fall through to the unquoted handling of c
          this.inQuotes = false;
          this.quoteSeen = false;
        } else {
          if (c === '\n') this.line++;
          this.field += c;
          continue;
        }
      }
      if (c === '"' && !this.fieldStarted) {
        this.inQuotes = true;
        this.fieldStarted = true;
      } else if (c === d) {
        this.fields.push(this.field);
        this.field = '';
        this.fieldStarted = false;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r') this.pendingCr = true;
        this.fields.push(this.field);
        if (!(this.fields.length === 1 && this.fields[0] === '')) out.push({ fields: this.fields, line: this.recordLine });
        this.fields = [];
        this.field = '';
        this.fieldStarted = false;
        this.line++;
        this.recordLine = this.line;
      } else {
        this.field += c;
        this.fieldStarted = true;
      }
    }
    return out;
  }

  /** The last record when the file does not end with a newline. */
  end(): CsvRecord[] {
    if (this.inQuotes && this.quoteSeen) {
      this.inQuotes = false;
      this.quoteSeen = false;
    }
    if (this.inQuotes) throw new Error(`line ${this.recordLine}: a quoted field is not closed before the end of the file`);
    if (this.field === '' && this.fields.length === 0 && !this.fieldStarted) return [];
    this.fields.push(this.field);
    const rec = { fields: this.fields, line: this.recordLine };
    this.fields = [];
    this.field = '';
    return [rec];
  }
}
