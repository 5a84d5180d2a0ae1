import type { RequestRecord, RequestStore } from '@hangar/core';

/** Who hears about requests as they are recorded (metrics window, analytics rollups). */
export interface RequestListener {
  /** A request was accepted; `rec.status` may already be COMPLETED when it is recorded once finished. */
  received(rec: RequestRecord): void;
  completed(rec: RequestRecord): void;
}

/**
 * Wraps a RequestStore so listeners see each request when it is accepted and, merged with every patch,
 * when it completes. Only requests still in flight are held in memory.
 */
export function observeRequests(store: RequestStore, listeners: readonly RequestListener[]): RequestStore {
  const live = new Map<string, RequestRecord>();
  const emitCompleted = (rec: RequestRecord) => {
    for (const l of listeners) l.completed(rec);
  };
  return {
    insert(rec, rawInput) {
      for (const l of listeners) l.received(rec);
      if (rec.status === 'COMPLETED') {
        // Recorded in one row once finished (a quick sync call): nothing to follow.
        emitCompleted(rec);
        return store.insert(rec, rawInput);
      }
      live.set(rec.requestId, { ...rec });
      return store.insert(rec, rawInput).catch((err: unknown) => {
        live.delete(rec.requestId);
        throw err;
      });
    },
    update(requestId, patch) {
      store.update(requestId, patch);
      const rec = live.get(requestId);
      if (rec) Object.assign(rec, patch);
    },
    complete(requestId, patch, result, expiresAt) {
      store.complete(requestId, patch, result, expiresAt);
      const rec = live.get(requestId);
      live.delete(requestId);
      if (rec) {
        emitCompleted(Object.assign(rec, patch, { status: 'COMPLETED' as const }));
        return;
      }
      // A request accepted by a previous process: read what was recorded, then merge.
      store.get(requestId).then(
        (stored) => stored && emitCompleted({ ...stored, ...patch, status: 'COMPLETED' }),
        () => {},
      );
    },
    get: (id) => store.get(id),
    getResult: (id) => store.getResult(id),
    getInput: (id) => store.getInput(id),
    listUnfinished: (opts) => store.listUnfinished(opts),
    purgeResults: (now) => store.purgeResults(now),
  };
}
