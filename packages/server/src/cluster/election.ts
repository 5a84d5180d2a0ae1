import type { ClusterMembership, Leadership } from '@hangar/core';

/** What an election is run with. */
export interface ElectionOptions {
  membership: ClusterMembership;
  nodeId: string;
  /** How long a lease lasts without renewal (`cluster.lease_ms`). */
  leaseMs: number;
  now: () => number;
  /** Called when this node gains the lease (a token) or loses it (null). */
  onChange?: (lead: Leadership | null) => void;
  onError?: (err: unknown) => void;
}

/** This node's side of the leader election; `tick` is called every `cluster.renew_ms`. */
export interface Election {
  /** Takes or renews the lease; never throws (an unreachable engine is reported to `onError`). */
  tick(): Promise<void>;
  /**
   * The lease this node holds, as far as it knows: never past `leaseMs` after the last renewal began,
   * so a process that was frozen does not believe in a lease that ran out. Actions are fenced anyway.
   */
  current(): Leadership | null;
  /** Gives the lease up (a drain); later ticks do nothing. */
  resign(): Promise<void>;
}

/** Runs the lease of `nodeId`: SET NX PX to take it, a token-checked renewal to keep it. */
export function createElection(opts: ElectionOptions): Election {
  let held: Leadership | null = null;
  let renewedAt = 0;
  let stopped = false;

  const set = (next: Leadership | null) => {
    const changed = next?.token !== held?.token;
    held = next;
    if (changed) opts.onChange?.(next);
  };
  const current = () => (held && opts.now() - renewedAt < opts.leaseMs ? held : null);

  return {
    async tick() {
      if (stopped) return;
      const started = opts.now();
      try {
        const got = await opts.membership.campaign(opts.nodeId, opts.leaseMs, current()?.token ?? null);
        if (stopped) return;
        if (got) renewedAt = started;
        set(got);
      } catch (err) {
        opts.onError?.(err);
        if (held && current() === null) set(null);
      }
    },
    current,
    async resign() {
      stopped = true;
      const lead = held;
      set(null);
      if (lead) await opts.membership.resign(lead.nodeId, lead.token).catch((err) => opts.onError?.(err));
    },
  };
}
