import { describe, expect, it } from 'vitest';
import { candidateQuery, needleTrigrams } from './search-index.js';

describe('needleTrigrams', () => {
  it('splits by code point and keeps case, spaces and wildcards', () => {
    expect(needleTrigrams('GPU 7')).toEqual(['GPU', 'PU ', 'U 7']);
    expect(needleTrigrams('a%_b')).toEqual(['a%_', '%_b']);
    expect(needleTrigrams('🚀 go')).toEqual(['🚀 g', ' go']);
    expect(needleTrigrams('aaaa')).toEqual(['aaa']);
  });

  it('gives nothing for needles the index cannot serve', () => {
    expect(needleTrigrams('ab')).toEqual([]);
    expect(needleTrigrams('🚀🚀')).toEqual([]);
    expect(needleTrigrams('abc\u0000def')).toEqual([]);
    expect(needleTrigrams('abc\uD800def')).toEqual([]);
  });
});

describe('candidateQuery', () => {
  it('ANDs the rarest trigram with the next one only when that is nearly as rare', () => {
    const d = (trigram: string, density: number) => ({ trigram, density });
    expect(candidateQuery([d('U 7', 0.001), d('GPU', 0.002), d('PU ', 0.003)])).toBe('"U 7" AND "GPU"');
    expect(candidateQuery([d('U 7', 0.001), d('GPU', 0.01)])).toBe('"U 7"');
    expect(candidateQuery([d('"a"', 0.1)])).toBe('"""a"""');
  });
});
