import { describe, expect, it } from 'vitest';
import { jsonWithoutNul, withoutNul } from './nul-safe.js';

describe('NUL mapping for PostgreSQL text', () => {
  it('replaces NUL in strings and string arrays, and leaves other values alone', () => {
    const buf = Buffer.from([0]);
    expect(withoutNul('a\u0000b\u0000')).toBe('a\uFFFDb\uFFFD');
    expect(withoutNul(['x', 'y\u0000', null, 3])).toEqual(['x', 'y\uFFFD', null, 3]);
    expect(withoutNul(buf)).toBe(buf);
    expect(withoutNul(42)).toBe(42);
  });

  it('replaces NUL escapes in JSON text, in keys and values, but not an escaped backslash before u0000', () => {
    const text = jsonWithoutNul({ 'k\u0000': 'v\u0000', lit: '\\u0000', both: '\\\u0000' });
    expect(JSON.parse(text)).toEqual({ 'k\uFFFD': 'v\uFFFD', lit: '\\u0000', both: '\\\uFFFD' });
  });
});
