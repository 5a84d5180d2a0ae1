import { describe, expect, it } from 'vitest';
import { createTimeOrderedIds } from './request-ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createTimeOrderedIds', () => {
  it('makes RFC 9562 version 7 UUIDs carrying the clock in their first 48 bits', () => {
    const ms = Date.UTC(2025, 0, 15, 12, 34, 56, 789);
    const id = createTimeOrderedIds(() => ms)();
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts ids of later milliseconds after earlier ones and never repeats', () => {
    let ms = Date.UTC(2025, 0, 1);
    const next = createTimeOrderedIds(() => ms);
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 7 === 0) ms++;
      ids.push(next());
    }
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    const firsts = ids.filter((_, i) => i % 7 === 0);
    expect([...firsts].sort()).toEqual(firsts);
  });
});
