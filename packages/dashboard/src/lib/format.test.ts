import { describe, expect, it } from 'vitest';
import { shortId } from './format';

describe('shortId', () => {
  it('tells apart time-ordered ids of the same minute by their random tail', () => {
    const sameMinute = [
      '01a2431c-e3ef-720e-bfa4-9f6736a6fe8c',
      '01a2431c-e3ef-7a11-8c02-44d1e07b3a19',
      '01a2431c-e3f0-7c3d-9e5a-0b7f2c9d1e44',
    ];
    const shown = sameMinute.map(shortId);
    expect(shown).toEqual(['…36a6fe8c', '…e07b3a19', '…2c9d1e44']);
    expect(new Set(shown).size).toBe(sameMinute.length);
    for (const [i, id] of sameMinute.entries()) expect(id.endsWith(shown[i]!.slice(1))).toBe(true);
  });

  it('shows short ids whole and a dash for none', () => {
    expect(shortId('rev-12')).toBe('rev-12');
    expect(shortId('123456789')).toBe('123456789');
    expect(shortId('1234567890')).toBe('…34567890');
    expect(shortId(null)).toBe('—');
    expect(shortId(undefined)).toBe('—');
    expect(shortId('')).toBe('—');
  });
});
