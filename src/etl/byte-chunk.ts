/**
 * A part being filled, as UTF-8 bytes in a reused buffer instead of a growing string: the pages'
 * texts are encoded as they are taken and die young, where a string built by `+=` kept every
 * page's text alive (a slice holds its page) until the part was stored, pushing them into the old
 * generation as garbage for a major collection. Buffers come from a small free list and go back
 * once their part is stored, so the same few megabytes are used for the whole run.
 * No Node built-ins beyond Buffer.
 */

const NEWLINE = 10;

export class ByteChunk {
  private buf: Buffer | undefined;
  /** bytes written */
  length = 0;
  constructor(private readonly pool: Buffer[], private readonly initial = 1 << 21) {}

  private room(bytes: number): Buffer {
    let buf = this.buf;
    if (buf === undefined) buf = this.buf = this.pool.pop() ?? Buffer.allocUnsafeSlow(Math.max(this.initial, bytes));
    if (this.length + bytes > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, this.length + bytes));
      buf.copy(bigger, 0, 0, this.length);
      buf = this.buf = bigger;
    }
    return buf;
  }

  /** appends `text` as UTF-8 */
  text(text: string): void {
    // at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units)
    const buf = this.room(text.length * 3);
    this.length += buf.write(text, this.length, 'utf8');
  }

  /** appends `text` and a newline */
  line(text: string): void {
    const buf = this.room(text.length * 3 + 1);
    this.length += buf.write(text, this.length, 'utf8');
    buf[this.length++] = NEWLINE;
  }

  /** the bytes written (a view: valid until `release`) */
  bytes(): Buffer {
    return this.buf === undefined ? Buffer.alloc(0) : this.buf.subarray(0, this.length);
  }

  /** gives the buffer back to the free list (after what `bytes` returned has been stored) */
  release(): void {
    if (this.buf !== undefined && this.pool.length < 4) this.pool.push(this.buf);
    this.buf = undefined;
    this.length = 0;
  }
}
