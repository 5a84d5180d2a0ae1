import type { LogLine } from '@hangar/core';

/**
 * The lines of one bus batch that match one filter. Every stream with that filter takes the same object,
 * so the lines are matched once and their SSE frames are serialised into one buffer that is written
 * as-is to every socket.
 */
export class MatchedLines {
  /** Smallest and largest id among the lines (undefined when no line has one). */
  readonly minId: number | undefined;
  readonly maxId: number | undefined;
  private bytes: Buffer | null = null;

  constructor(
    readonly lines: readonly LogLine[],
    private readonly frameOf: (line: LogLine) => string,
  ) {
    let min: number | undefined;
    let max: number | undefined;
    for (const l of lines) {
      if (l.id === undefined) continue;
      if (min === undefined || l.id < min) min = l.id;
      if (max === undefined || l.id > max) max = l.id;
    }
    this.minId = min;
    this.maxId = max;
  }

  /** The SSE frame of one of the lines (shared by every filter of the batch). */
  frame(line: LogLine): string {
    return this.frameOf(line);
  }

  /** Every line's frame in order, as one buffer built on first use. */
  frames(): Buffer {
    if (this.bytes === null) {
      let text = '';
      for (const l of this.lines) text += this.frameOf(l);
      this.bytes = Buffer.from(text);
    }
    return this.bytes;
  }
}
