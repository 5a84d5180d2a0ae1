import type { Principal, SlotRelease, StreamSlots } from '@hangar/core';

export type { StreamSlots } from '@hangar/core';

/** The in-process stream count, answered without waiting; the Redis adapter falls back to it. */
export interface LocalStreamSlots extends StreamSlots {
  /** `acquire` without a promise. */
  acquireNow(holder: string): SlotRelease | null;
  /** `countFor` without a promise. */
  countNow(holder: string): number;
}

/** Creates the per-holder stream count of one process; holders with no open stream take no memory. */
export function createStreamSlots(max: number): LocalStreamSlots {
  const open = new Map<string, number>();
  const acquireNow = (holder: string): SlotRelease | null => {
    const n = open.get(holder) ?? 0;
    if (n >= max) return null;
    open.set(holder, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (open.get(holder) ?? 1) - 1;
      if (left <= 0) open.delete(holder);
      else open.set(holder, left);
    };
  };
  const countNow = (holder: string) => open.get(holder) ?? 0;
  return {
    max,
    acquireNow,
    countNow,
    acquire: async (holder) => acquireNow(holder),
    countFor: async (holder) => countNow(holder),
    close: async () => {},
  };
}

/** Whom a stream counts against: its key, or for an anonymous caller (a public app) its client address. */
export function streamHolder(principal: Principal | null, address: string | undefined): string {
  return principal ? `key:${principal.keyId}` : `ip:${address ?? ''}`;
}
