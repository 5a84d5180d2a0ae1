import { describe, expect, it } from 'vitest';
import { copyPartSize, partRanges } from './multipart-copy.js';
import { partSizeOf } from './multipart-upload.js';

const MIB = 1024 ** 2;
const TIB = 1024 ** 4;

describe('multipart part sizes within S3 limits', () => {
  it('grows upload parts so 10,000 of them hold S3 largest object (5 TiB)', () => {
    expect(partSizeOf(1, 8 * MIB)).toBe(8 * MIB);
    expect(partSizeOf(1000, 8 * MIB)).toBe(8 * MIB);
    expect(partSizeOf(1001, 8 * MIB)).toBe(16 * MIB);
    let total = 0;
    for (let n = 1; n <= 10_000; n++) total += partSizeOf(n, 8 * MIB);
    expect(total).toBeGreaterThanOrEqual(5 * TIB);
    // No part beyond S3's 5 GiB maximum.
    expect(partSizeOf(10_000, 8 * MIB)).toBeLessThanOrEqual(5 * 1024 * MIB);
  });

  it('sizes copy parts to fit 10,000 and cuts ranges that cover the object exactly once', () => {
    expect(copyPartSize(6 * 1024 * MIB, 512 * MIB)).toBe(512 * MIB);
    expect(copyPartSize(11 * MIB, 1)).toBe(5 * MIB);
    const size = 5 * TIB;
    const part = copyPartSize(size, 512 * MIB);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
    const ranges = partRanges(11 * MIB + 3, 5 * MIB);
    expect(ranges).toEqual([
      { start: 0, end: 5 * MIB - 1 },
      { start: 5 * MIB, end: 10 * MIB - 1 },
      { start: 10 * MIB, end: 11 * MIB + 2 },
    ]);
  });
});
