import { describe, expect, it } from 'vitest';
import { firstIndex } from './tables.js';

describe('firstIndex', () => {
  it('finds where a prefix ends, at every cut of every length', () => {
    for (let n = 0; n <= 9; n++) {
      for (let cut = 0; cut <= n; cut++) {
        const asked: number[] = [];
        const at = firstIndex(n, (i) => {
          asked.push(i);
          return i < cut;
        });
        expect(at).toBe(cut);
        expect(asked.every((i) => i >= 0 && i < n)).toBe(true);
      }
    }
  });
});
