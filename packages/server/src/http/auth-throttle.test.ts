import { describe, expect, it } from 'vitest';
import { clientBucket } from '../net/ip.js';
import { createAuthThrottle } from './auth-throttle.js';

function throttle(over: Partial<Parameters<typeof createAuthThrottle>[0]> = {}) {
  const clock = { now: 1_000_000 };
  const t = createAuthThrottle({
    perAddress: 5,
    perKey: 8,
    windowMs: 60_000,
    maxTracked: 1000,
    clock: () => clock.now,
    ...over,
  });
  return { t, clock };
}

describe('auth throttle', () => {
  it('refuses an address once its budget is spent, and lets it try again as the budget drains', () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 5; i++) {
      expect(t.waitSeconds('10.0.0.1', `k${i}`)).toBe(0);
      t.fail('10.0.0.1', `k${i}`);
    }
    // 5 failures per 60 s drain one every 12 s: the sixth attempt waits 12 s, whatever key it names.
    expect(t.waitSeconds('10.0.0.1', 'other')).toBe(12);
    expect(t.waitSeconds('10.0.0.1', null)).toBe(12);
    expect(t.waitSeconds('10.0.0.2', 'k0')).toBe(0);
    clock.now += 11_000;
    expect(t.waitSeconds('10.0.0.1', 'other')).toBe(1);
    clock.now += 1_000;
    expect(t.waitSeconds('10.0.0.1', 'other')).toBe(0);
  });

  it('refuses a key under attack only to addresses that failed within the window', () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 8; i++) t.fail(`10.1.0.${i}`, 'victim');
    expect(t.waitSeconds('10.1.0.0', 'victim')).toBeGreaterThan(0);
    expect(t.waitSeconds('10.1.0.0', 'someone-else')).toBe(0);
    expect(t.waitSeconds('10.9.9.9', 'victim')).toBe(0);
    expect(t.suspect('10.1.0.0')).toBe(true);
    expect(t.suspect('10.9.9.9')).toBe(false);
    // The key drains one failure per 7.5 s; the address's own failure is remembered for the window.
    clock.now += 7_500;
    expect(t.waitSeconds('10.1.0.0', 'victim')).toBe(0);
    t.fail('10.1.0.0', 'victim');
    expect(t.waitSeconds('10.1.0.0', 'victim')).toBe(8);
    clock.now += 60_000;
    expect(t.suspect('10.1.0.0')).toBe(false);
    // An entry with nothing left to remember is dropped when next looked at (the others wait for the cap).
    expect(t.tracked()).toEqual({ addresses: 7, keys: 1 });
  });

  it('holds at most max_tracked addresses and keys, forgetting the least recently failing first', () => {
    const { t } = throttle({ perAddress: 1, maxTracked: 3 });
    t.fail('10.2.0.1', 'a');
    for (let i = 2; i <= 50; i++) t.fail(`10.2.0.${i}`, `key-${i}`);
    expect(t.tracked()).toEqual({ addresses: 3, keys: 3 });
    expect(t.waitSeconds('10.2.0.50', null)).toBeGreaterThan(0);
    expect(t.waitSeconds('10.2.0.1', null)).toBe(0);
  });

  it('groups IPv6 clients by /64 and IPv4-mapped addresses with IPv4', () => {
    const { t } = throttle({ perAddress: 2 });
    t.fail('2001:db8:1:2::1', null);
    t.fail('2001:db8:1:2:ffff::9', null);
    expect(t.waitSeconds('2001:db8:1:2::77', null)).toBeGreaterThan(0);
    expect(t.waitSeconds('2001:db8:1:3::1', null)).toBe(0);
    t.fail('::ffff:192.0.2.7', null);
    t.fail('192.0.2.7', null);
    expect(t.waitSeconds('192.0.2.7', null)).toBeGreaterThan(0);
    expect(clientBucket('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientBucket('2001:db8::1')).toBe('2001:0db8:0000:0000::/64');
  });
});
