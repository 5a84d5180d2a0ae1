import type { GpuRequest } from '@hangar/core';
import type { GpuCard } from './inventory.js';

/** Cards a runner holds until it ends. */
export interface GpuLease {
  readonly cards: readonly GpuCard[];
  /** Gives the cards back (idempotent); the oldest waiter that now fits gets them. */
  release(): void;
}

/**
 * Hands out this machine's GPUs, each to one runner at a time. Requests that cannot be served at once
 * wait in FIFO order: a waiter keeps every card it could use from later requests, so a 2-GPU runner is
 * never starved by a stream of 1-GPU ones; requests for other products pass it.
 */
export interface GpuAllocator {
  readonly cards: readonly GpuCard[];
  /** Null when the request can never be met here (more cards than match, no card of the product). */
  unmeetable(request: GpuRequest): string | null;
  /** How many runners with this request fit the machine at once (0: never). */
  capacity(request: GpuRequest): number;
  /**
   * Resolves with a lease once the cards are free; `onWait` is called first when it must wait.
   * Rejects when `signal` aborts while waiting, or at once when the request is unmeetable.
   */
  acquire(
    request: GpuRequest,
    signal: AbortSignal | undefined,
    onWait: (why: string) => void,
  ): Promise<GpuLease>;
  /** Cards not leased now. */
  free(): GpuCard[];
}

/** True when `card` is of `product` (a word of its name, case-insensitive: `H100` matches `NVIDIA H100 80GB HBM3`). */
export function cardMatches(card: GpuCard, product: string | null): boolean {
  if (product === null) return true;
  const escaped = product.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9])${escaped}($|[^A-Za-z0-9])`, 'i').test(card.name);
}

/** Describes a request for messages: `2 GPUs of H100`, `1 GPU`. */
export function describeRequest(r: GpuRequest): string {
  return `${r.count} GPU${r.count === 1 ? '' : 's'}${r.product ? ` of ${r.product}` : ''}`;
}

interface Waiter {
  request: GpuRequest;
  resolve(lease: GpuLease): void;
}

export function createGpuAllocator(cards: readonly GpuCard[]): GpuAllocator {
  const leased = new Set<string>();
  const waiters: Waiter[] = [];
  const matching = (product: string | null) => cards.filter((c) => cardMatches(c, product));

  function lease(taken: GpuCard[]): GpuLease {
    for (const c of taken) leased.add(c.uuid);
    let released = false;
    return {
      cards: taken,
      release() {
        if (released) return;
        released = true;
        for (const c of taken) leased.delete(c.uuid);
        serveWaiters();
      },
    };
  }

  /** Free cards for `request`, lowest index first, leaving out `blocked` ones; null when too few. */
  function pick(request: GpuRequest, blocked: ReadonlySet<string>): GpuCard[] | null {
    const free = matching(request.product).filter((c) => !leased.has(c.uuid) && !blocked.has(c.uuid));
    return free.length >= request.count ? free.slice(0, request.count) : null;
  }

  function serveWaiters(): void {
    const blocked = new Set<string>();
    for (let i = 0; i < waiters.length; ) {
      const w = waiters[i] as Waiter;
      const taken = pick(w.request, blocked);
      if (taken) {
        waiters.splice(i, 1);
        w.resolve(lease(taken));
        continue;
      }
      for (const c of matching(w.request.product)) blocked.add(c.uuid);
      i++;
    }
  }

  const allocator: GpuAllocator = {
    cards,
    unmeetable(request) {
      const n = matching(request.product).length;
      if (n >= request.count) return null;
      const what = describeRequest(request);
      if (request.product && n === 0)
        return `no GPU of product ${request.product} on this machine (needs ${what})`;
      return `needs ${what} but this machine has ${n}`;
    },
    capacity(request) {
      return request.count <= 0
        ? Number.POSITIVE_INFINITY
        : Math.floor(matching(request.product).length / request.count);
    },
    acquire(request, signal, onWait) {
      const never = allocator.unmeetable(request);
      if (never) return Promise.reject(new Error(never));
      if (signal?.aborted) return Promise.reject(signal.reason);
      // Earlier waiters first: a request may not jump the queue for cards an earlier one waits for.
      const blocked = new Set<string>();
      for (const w of waiters) for (const c of matching(w.request.product)) blocked.add(c.uuid);
      const taken = pick(request, blocked);
      if (taken) return Promise.resolve(lease(taken));
      return new Promise<GpuLease>((resolve, reject) => {
        const waiter: Waiter = {
          request,
          resolve: (l) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(l);
          },
        };
        const onAbort = () => {
          const i = waiters.indexOf(waiter);
          if (i !== -1) waiters.splice(i, 1);
          // Cards this waiter held back may now serve later ones.
          serveWaiters();
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
        onWait(`waiting for ${describeRequest(request)}`);
      });
    },
    free() {
      return cards.filter((c) => !leased.has(c.uuid));
    },
  };
  return allocator;
}
