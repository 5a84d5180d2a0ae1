import { type Clock, PlatformError } from '@hangar/core';

/** Bytes and entries (files, folders and links) of an owner's storage. */
export interface StorageUsage {
  bytes: number;
  files: number;
}

/** An owner's storage ceiling. */
export type StorageLimits = StorageUsage;

/** Storage held for one write until it lands (commit) or fails (release). */
export interface QuotaReservation {
  /** Holds more; throws FILES_QUOTA_EXCEEDED (holding nothing more) when it would cross the quota. */
  charge(bytes: number, files: number): void;
  /** The write landed: what it holds becomes usage, minus what it replaced or removed. */
  commit(freed?: StorageUsage): void;
  /** The write failed: nothing it held counts. */
  release(): void;
}

/** Per-owner storage quota over a measured, cached usage. */
export interface StorageQuota {
  /** The owner's usage: cached, measured again once older than the freshness window. */
  usage(owner: string): Promise<StorageUsage>;
  /** Holds `bytes` and `files` for a write, or throws FILES_QUOTA_EXCEEDED. */
  reserve(owner: string, bytes: number, files: number): Promise<QuotaReservation>;
  /** Records storage freed outside a reservation (a delete). */
  credit(owner: string, freed: StorageUsage): void;
  /** Forgets the cached usage, so the next check measures again. */
  invalidate(owner: string): void;
}

/** What {@link createStorageQuota} needs. */
export interface StorageQuotaDeps {
  limitsFor(owner: string): StorageLimits;
  /** Measures what the owner's storage holds now (walking the tree, including what runners wrote). */
  measure(owner: string): Promise<StorageUsage>;
  clock: Clock;
  /** How long a measurement is trusted, in milliseconds. */
  freshnessMs: number;
}

interface OwnerState {
  used: StorageUsage;
  measuredAt: number;
  held: StorageUsage;
}

/** Creates the quota: usage is measured at most once per freshness window, and kept current by writes. */
export function createStorageQuota(deps: StorageQuotaDeps): StorageQuota {
  const states = new Map<string, OwnerState>();
  const measuring = new Map<string, Promise<OwnerState>>();

  async function stateOf(owner: string): Promise<OwnerState> {
    const known = states.get(owner);
    if (known && deps.clock() - known.measuredAt < deps.freshnessMs) return known;
    let pending = measuring.get(owner);
    if (!pending) {
      pending = deps.measure(owner).then((used) => {
        const state = {
          used,
          measuredAt: deps.clock(),
          held: states.get(owner)?.held ?? { bytes: 0, files: 0 },
        };
        states.set(owner, state);
        return state;
      });
      measuring.set(owner, pending);
      void pending.then(
        () => measuring.delete(owner),
        () => measuring.delete(owner),
      );
    }
    return pending;
  }

  function check(owner: string, state: OwnerState, bytes: number, files: number): void {
    const limits = deps.limitsFor(owner);
    const bytesAfter = state.used.bytes + state.held.bytes + bytes;
    const filesAfter = state.used.files + state.held.files + files;
    if (bytes > 0 && bytesAfter > limits.bytes) {
      throw new PlatformError(
        'FILES_QUOTA_EXCEEDED',
        `Storage quota exceeded: this write needs more than the ${limits.bytes} bytes allowed`,
      );
    }
    if (files > 0 && filesAfter > limits.files) {
      throw new PlatformError(
        'FILES_QUOTA_EXCEEDED',
        `Storage quota exceeded: this write needs more than the ${limits.files} files allowed`,
      );
    }
  }

  function reservation(owner: string, state: OwnerState): QuotaReservation {
    const mine = { bytes: 0, files: 0 };
    let open = true;
    const drop = () => {
      open = false;
      state.held.bytes -= mine.bytes;
      state.held.files -= mine.files;
    };
    return {
      charge(bytes, files) {
        if (!open) return;
        check(owner, state, bytes, files);
        mine.bytes += bytes;
        mine.files += files;
        state.held.bytes += bytes;
        state.held.files += files;
      },
      commit(freed = { bytes: 0, files: 0 }) {
        if (!open) return;
        drop();
        adjust(state, mine.bytes - freed.bytes, mine.files - freed.files);
      },
      release() {
        if (open) drop();
      },
    };
  }

  return {
    async usage(owner) {
      const state = await stateOf(owner);
      return { ...state.used };
    },
    async reserve(owner, bytes, files) {
      const r = reservation(owner, await stateOf(owner));
      r.charge(bytes, files);
      return r;
    },
    credit(owner, freed) {
      const state = states.get(owner);
      if (state) adjust(state, -freed.bytes, -freed.files);
    },
    invalidate(owner) {
      const state = states.get(owner);
      if (state) state.measuredAt = Number.NEGATIVE_INFINITY;
    },
  };
}

function adjust(state: OwnerState, bytes: number, files: number): void {
  state.used.bytes = Math.max(0, state.used.bytes + bytes);
  state.used.files = Math.max(0, state.used.files + files);
}
