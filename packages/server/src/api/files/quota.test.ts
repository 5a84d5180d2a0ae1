import { PlatformError } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { createStorageQuota, type StorageUsage } from './quota.js';

function setup(measured: StorageUsage) {
  let now = 0;
  let walks = 0;
  const quota = createStorageQuota({
    limitsFor: (owner) => (owner === 'big' ? { bytes: 1000, files: 100 } : { bytes: 100, files: 3 }),
    measure: async () => {
      walks += 1;
      return { ...measured };
    },
    clock: () => now,
    freshnessMs: 1000,
  });
  return { quota, advance: (ms: number) => (now += ms), walks: () => walks };
}

const code = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof PlatformError ? err.code : String(err);
  }
};

describe('createStorageQuota', () => {
  it('refuses a reservation past the bytes or files limit', async () => {
    const { quota } = setup({ bytes: 60, files: 1 });
    await expect(quota.reserve('a', 41, 0)).rejects.toMatchObject({ code: 'FILES_QUOTA_EXCEEDED' });
    await expect(quota.reserve('a', 0, 3)).rejects.toMatchObject({ code: 'FILES_QUOTA_EXCEEDED' });
    const ok = await quota.reserve('a', 40, 2);
    ok.release();
  });

  it('counts open reservations, commits what landed and forgets what failed', async () => {
    const { quota } = setup({ bytes: 0, files: 0 });
    const first = await quota.reserve('a', 0, 1);
    first.charge(70, 0);
    const second = await quota.reserve('a', 0, 1);
    expect(code(() => second.charge(31, 0))).toBe('FILES_QUOTA_EXCEEDED');
    second.release();
    first.commit({ bytes: 20, files: 1 });
    expect(await quota.usage('a')).toEqual({ bytes: 50, files: 0 });
    quota.credit('a', { bytes: 50, files: 0 });
    expect(await quota.usage('a')).toEqual({ bytes: 0, files: 0 });
  });

  it('measures once per freshness window, again when invalidated, per owner', async () => {
    const { quota, advance, walks } = setup({ bytes: 10, files: 1 });
    await quota.usage('a');
    await quota.usage('a');
    expect(walks()).toBe(1);
    advance(1000);
    await quota.usage('a');
    expect(walks()).toBe(2);
    quota.invalidate('a');
    await quota.usage('a');
    await quota.usage('big');
    expect(walks()).toBe(4);
    expect((await quota.reserve('big', 900, 0)).charge).toBeTypeOf('function');
  });
});
