import type { LogBus, LogLine } from '@hangar/core';
import { lineToEntry, sseFrame } from './entry.js';

/** A stream as the hub sees it: who it belongs to and how it takes a batch of that owner's lines. */
export interface LiveSubscriber {
  readonly owner: string;
  /** Takes the owner's lines of one batch; `frameOf` serialises a line once for every subscriber. */
  onLines(lines: readonly LogLine[], frameOf: (line: LogLine) => string): void;
  /** Sends a keep-alive comment. */
  ping(): void;
}

export interface LogStreamHubOptions {
  bus: LogBus;
  /** Concurrent streams one key may hold. */
  maxPerKey: number;
  /** Keep-alive period (fal's queue streams use 15 s). */
  pingMs?: number;
}

/** Fans the log bus out to every open stream with one subscription, indexed by owner. */
export interface LogStreamHub {
  /** Reserves a stream slot for the key; returns its release function, or null at the cap. */
  acquire(keyId: string): (() => void) | null;
  /** Starts delivering live lines to `sub`; returns the detach function. */
  attach(sub: LiveSubscriber): () => void;
  /** Open streams (attached or not) per key. */
  countFor(keyId: string): number;
  /** Detaches from the bus and stops pings (streams are closed by their owners). */
  close(): void;
}

/** Creates the hub; it subscribes to the bus only while some stream is attached. */
export function createLogStreamHub(opts: LogStreamHubOptions): LogStreamHub {
  const perKey = new Map<string, number>();
  const byOwner = new Map<string, Set<LiveSubscriber>>();
  let unsubscribe: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let attached = 0;

  const onBatch = (lines: readonly LogLine[]) => {
    const frames = new Map<LogLine, string>();
    const frameOf = (line: LogLine) => {
      let f = frames.get(line);
      if (f === undefined) {
        f = sseFrame(line.id, lineToEntry(line));
        frames.set(line, f);
      }
      return f;
    };
    for (const [owner, group] of groupByOwner(lines)) {
      const subs = byOwner.get(owner);
      if (subs) for (const s of subs) s.onLines(group, frameOf);
    }
  };

  const start = () => {
    unsubscribe = opts.bus.subscribe(onBatch);
    timer = setInterval(() => {
      for (const subs of byOwner.values()) for (const s of subs) s.ping();
    }, opts.pingMs ?? 15_000);
    timer.unref();
  };
  const stop = () => {
    unsubscribe?.();
    unsubscribe = null;
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    acquire(keyId) {
      const n = perKey.get(keyId) ?? 0;
      if (n >= opts.maxPerKey) return null;
      perKey.set(keyId, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (perKey.get(keyId) ?? 1) - 1;
        if (left <= 0) perKey.delete(keyId);
        else perKey.set(keyId, left);
      };
    },
    attach(sub) {
      let subs = byOwner.get(sub.owner);
      if (!subs) {
        subs = new Set();
        byOwner.set(sub.owner, subs);
      }
      subs.add(sub);
      if (attached++ === 0) start();
      let detached = false;
      return () => {
        if (detached) return;
        detached = true;
        subs.delete(sub);
        if (subs.size === 0) byOwner.delete(sub.owner);
        if (--attached === 0) stop();
      };
    },
    countFor: (keyId) => perKey.get(keyId) ?? 0,
    close: stop,
  };
}

/** Groups a batch by owner; batches usually come from one runner, so the common case is one group. */
function groupByOwner(lines: readonly LogLine[]): Iterable<[string, readonly LogLine[]]> {
  const first = lines[0];
  if (first === undefined) return [];
  if (lines.every((l) => l.owner === first.owner)) return [[first.owner, lines]];
  const groups = new Map<string, LogLine[]>();
  for (const l of lines) {
    const g = groups.get(l.owner);
    if (g) g.push(l);
    else groups.set(l.owner, [l]);
  }
  return groups;
}
