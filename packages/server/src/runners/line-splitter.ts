import { StringDecoder } from 'node:string_decoder';

/** Longest line kept, in UTF-16 code units; the rest of a longer line is dropped up to its newline. */
export const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Turns a byte stream into lines: chunks may end mid-line or mid-character, `\r\n` counts as one line
 * end, and a line longer than {@link MAX_LINE_LENGTH} is cut so one runaway writer cannot exhaust memory.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** True while skipping the tail of an over-long line. */
  private skipping = false;

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      this.takeLine(text.slice(start, nl));
      start = nl + 1;
    }
    if (start < text.length) this.append(text.slice(start));
  }

  /** Emits the last partial line, if any (call once the stream ended). */
  end(): void {
    const rest = this.decoder.end();
    if (rest) this.append(rest);
    if (this.partial.length > 0 && !this.skipping) this.emit(stripCr(this.partial));
    this.partial = '';
    this.skipping = false;
  }

  private takeLine(piece: string): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    const line = this.partial.length > 0 ? this.partial + piece : piece;
    this.partial = '';
    this.emit(stripCr(line.length > MAX_LINE_LENGTH ? line.slice(0, MAX_LINE_LENGTH) : line));
  }

  private append(piece: string): void {
    if (this.skipping) return;
    this.partial += piece;
    if (this.partial.length >= MAX_LINE_LENGTH) {
      this.emit(this.partial.slice(0, MAX_LINE_LENGTH));
      this.partial = '';
      this.skipping = true;
    }
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
