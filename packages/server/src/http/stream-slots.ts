import type { Principal } from '@hangar/core';

/**
 * One count of open long-lived streams (server-sent events) per holder, shared by every stream route —
 * log streams and queue status streams alike — so `limits.max_sse_streams_per_key` bounds them together.
 */
export interface StreamSlots {
  /** Streams one holder may keep open at once. */
  readonly max: number;
  /** Reserves a slot; returns its release function (idempotent), or null when the holder is at the cap. */
  acquire(holder: string): (() => void) | null;
  /** Open streams of a holder. */
  countFor(holder: string): number;
}

/** Creates the per-holder stream count; holders with no open stream take no memory. */
export function createStreamSlots(max: number): StreamSlots {
  const open = new Map<string, number>();
  return {
    max,
    acquire(holder) {
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
    },
    countFor: (holder) => open.get(holder) ?? 0,
  };
}

/** Whom a stream counts against: its key, or for an anonymous caller (a public app) its client address. */
export function streamHolder(principal: Principal | null, address: string | undefined): string {
  return principal ? `key:${principal.keyId}` : `ip:${address ?? ''}`;
}
