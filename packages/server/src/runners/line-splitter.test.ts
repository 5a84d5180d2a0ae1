import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_LENGTH } from './line-splitter.js';

function split(chunks: Array<string | Buffer>): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return lines;
}

describe('LineSplitter', () => {
  it('joins partial lines across chunks and strips CR', () => {
    expect(split(['ab', 'c\r\nd', 'e\n\nf'])).toEqual(['abc', 'de', '', 'f']);
  });

  it('keeps multi-byte characters split between chunks', () => {
    const bytes = Buffer.from('héllo\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual(['héllo']);
  });

  it('caps a long line and drops its tail up to the newline', () => {
    const long = 'x'.repeat(MAX_LINE_LENGTH * 2);
    const lines = split([long.slice(0, 1000), long.slice(1000), '\nok\n']);
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE_LENGTH, 2]);
    expect(split([`${long}\nok`]).map((l) => l.length)).toEqual([MAX_LINE_LENGTH, 2]);
  });

  it('emits nothing for empty input', () => {
    expect(split([])).toEqual([]);
  });
});
