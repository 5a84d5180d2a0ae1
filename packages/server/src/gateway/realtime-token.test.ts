import { randomBytes } from 'node:crypto';
import { PlatformError } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { signRealtimeGrant, verifyRealtimeToken } from './realtime-token.js';

const secret = randomBytes(32);
const principal = { keyId: 'k1', owner: 'alice', scope: 'API' as const };
const NOW = 1_700_000_000_000;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PlatformError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('realtime tokens', () => {
  const token = signRealtimeGrant(secret, { principal, apps: ['echo', 'bob/live'], expiresAt: NOW + 1000 });

  it('grant the key that created them for the apps named, until they expire', () => {
    expect(verifyRealtimeToken(secret, token, 'alice', 'echo', NOW).principal).toEqual(principal);
    expect(verifyRealtimeToken(secret, token, 'carol', 'echo', NOW + 1000).apps).toEqual([
      'echo',
      'bob/live',
    ]);
    expect(codeOf(() => verifyRealtimeToken(secret, token, 'bob', 'live', NOW))).toBe('accepted');
    expect(codeOf(() => verifyRealtimeToken(secret, token, 'alice', 'live', NOW))).toBe('REALTIME_TOKEN_APP');
    expect(codeOf(() => verifyRealtimeToken(secret, token, 'alice', 'echo', NOW + 1001))).toBe(
      'REALTIME_TOKEN_EXPIRED',
    );
  });

  it('are refused when signed with another secret, altered or malformed', () => {
    const other = signRealtimeGrant(randomBytes(32), { principal, apps: ['echo'], expiresAt: NOW + 1000 });
    const [payload, mac] = token.split('.') as [string, string];
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), o: 'bob' }),
    ).toString('base64url');
    for (const bad of [other, `${altered}.${mac}`, payload, `.${mac}`, '', 'a.b.c']) {
      expect(codeOf(() => verifyRealtimeToken(secret, bad, 'alice', 'echo', NOW))).toBe(
        'REALTIME_TOKEN_INVALID',
      );
    }
  });
});
