import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, sortKeys } from './keys.js';

const bytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
// Names mixing ASCII, a unit just below the surrogates, private-use units above them and astral characters.
const char = fc.constantFrom('a', 'b', '/', '-', '.', '\uD7FF', '\uE000', '\uFFFD', '😀', '𝄞', 'é');
const key = fc.array(char, { maxLength: 6 }).map((cs) => cs.join(''));

describe('compareKeys', () => {
  it('orders keys by their UTF-8 bytes, as S3 lists them', () => {
    fc.assert(fc.property(key, key, (a, b) => Math.sign(compareKeys(a, b)) === bytes(a, b)));
    expect(compareKeys('😀', '\uFFFD')).toBeGreaterThan(0);
    expect('😀' < '\uFFFD').toBe(true);
  });

  it('sortKeys sorts in that order with or without astral characters', () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 20 }), (keys) => {
        const sorted = sortKeys([...keys]);
        return sorted.every((k, i) => i === 0 || bytes(sorted[i - 1] as string, k) <= 0);
      }),
    );
    expect(sortKeys(['a/', 'a-b', 'a0', 'a.txt'])).toEqual(['a-b', 'a.txt', 'a/', 'a0']);
  });
});
