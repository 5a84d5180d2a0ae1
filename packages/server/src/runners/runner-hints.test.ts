import { describe, expect, it } from 'vitest';
import { parseRunnerHints } from './runner-hints.js';

describe('parseRunnerHints', () => {
  it('splits on commas, trims and drops blanks', () => {
    expect([...parseRunnerHints(' flux-dev, lora-a ,,sdxl ')]).toEqual(['flux-dev', 'lora-a', 'sdxl']);
    expect(parseRunnerHints('').size).toBe(0);
  });

  it('keeps at most 64 hints and drops over-long ones', () => {
    const many = Array.from({ length: 100 }, (_, i) => `h${i}`).join(',');
    expect(parseRunnerHints(many).size).toBe(64);
    expect(parseRunnerHints(`${'x'.repeat(300)},ok`)).toEqual(new Set(['ok']));
  });
});
