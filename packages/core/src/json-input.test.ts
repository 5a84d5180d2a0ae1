import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJsonInput, type JsonInputLimits } from './json-input.js';

const LOOSE: JsonInputLimits = { maxDepth: 1e9, maxItems: 1e9, maxStringBytes: 1e9 };
const check = (text: string, limits: Partial<JsonInputLimits> = {}) =>
  checkJsonInput(Buffer.from(text), { ...LOOSE, ...limits });

/** The reference measures, computed on the parsed value. */
function measureJson(v: unknown): { depth: number; items: number } {
  if (v === null || typeof v !== 'object') return { depth: 0, items: 0 };
  const kids = (Array.isArray(v) ? v : Object.values(v)).map(measureJson);
  return {
    depth: 1 + Math.max(0, ...kids.map((k) => k.depth)),
    items: kids.length + kids.reduce((s, k) => s + k.items, 0),
  };
}

/** Longest string in the JSON text as written (escapes included), keys too. */
function longestString(text: string): number {
  let max = 0;
  for (const m of Buffer.from(text)
    .toString('latin1')
    .matchAll(/"((?:[^"\\]|\\.)*)"/g))
    max = Math.max(max, m[1]!.length);
  return max;
}

describe('checkJsonInput', () => {
  it('counts depth, items and string bytes exactly as the parsed value has them', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const { depth, items } = measureJson(JSON.parse(text));
        const longest = longestString(text);
        expect(check(text, { maxDepth: depth, maxItems: items, maxStringBytes: longest })).toBeNull();
        if (depth > 0) expect(check(text, { maxDepth: depth - 1 })?.limit).toBe('max_depth');
        if (items > 0) expect(check(text, { maxItems: items - 1 })?.limit).toBe('max_items');
        if (longest > 0) expect(check(text, { maxStringBytes: longest - 1 })?.limit).toBe('max_string_bytes');
      }),
      { numRuns: 500 },
    );
  });

  it('refuses 10,000 levels of nesting at the first level past the limit', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    expect(check(deep, { maxDepth: 64 })).toEqual({ limit: 'max_depth', max: 64 });
    expect(check(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`, { maxDepth: 64 })?.limit).toBe('max_depth');
    expect(check(`${'{"a":'.repeat(64)}1${'}'.repeat(64)}`, { maxDepth: 64 })).toBeNull();
  });

  it('counts members and elements, not empty containers or top-level scalars', () => {
    expect(check('[]', { maxItems: 0 })).toBeNull();
    expect(check('{ }', { maxItems: 0 })).toBeNull();
    expect(check('"x"', { maxItems: 0 })).toBeNull();
    expect(check('[[], {}]', { maxItems: 2 })).toBeNull();
    expect(check('[[], {}]', { maxItems: 1 })?.limit).toBe('max_items');
    expect(check('{"a":[1,2],"b":{"c":null}}', { maxItems: 5 })).toBeNull();
    expect(check('{"a":[1,2],"b":{"c":null}}', { maxItems: 4 })?.limit).toBe('max_items');
  });

  it('ignores brackets, commas and escaped quotes inside strings', () => {
    const tricky = JSON.stringify({ s: '[[[{{,,,\\"]]', t: `${'\\'.repeat(3)}"[` });
    expect(check(tricky, { maxDepth: 1, maxItems: 2 })).toBeNull();
    // A long string with escaped quotes is searched natively and still ends at its real quote.
    const long = JSON.stringify({ s: `${'a"\\'.repeat(100)}[`, t: ['x'.repeat(200)] });
    expect(check(long, { maxDepth: 2, maxItems: 3 })).toBeNull();
    expect(check(long, { maxDepth: 1 })?.limit).toBe('max_depth');
  });

  it('passes a 5 MB string when strings are limited only by the body', () => {
    const big = JSON.stringify({ image_url: `data:image/png;base64,${'A'.repeat(5 * 1024 * 1024)}` });
    expect(check(big, { maxDepth: 64, maxItems: 100_000 })).toBeNull();
    expect(check(big, { maxStringBytes: 5 * 1024 * 1024 })?.limit).toBe('max_string_bytes');
  });

  it('measures malformed or truncated text without failing', () => {
    for (const text of ['[[[', ']]]', '"unterminated', '{"a":"\\', '[1,2', '', '\\"[']) {
      expect(() => check(text, { maxDepth: 2, maxItems: 1, maxStringBytes: 3 })).not.toThrow();
    }
    expect(check(']]][[[', { maxDepth: 2 })?.limit).toBe('max_depth');
  });
});
