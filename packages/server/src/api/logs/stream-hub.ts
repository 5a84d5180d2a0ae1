import type { LogBus, LogLine } from '@hangar/core';
import { lineToEntry, sseFrame } from './entry.js';
import { MatchedLines } from './matched-lines.js';

/** A stream as the hub sees it: who it belongs to, its filter, and how it takes matching lines. */
export interface LiveSubscriber {
  readonly owner: string;
  /** Equal keys mean equal filters: the hub matches and serialises a batch once per key, not per stream. */
  readonly filterKey: string;
  /** The filter as a predicate over the owner's live lines. */
  readonly match: (line: LogLine) => boolean;
  /** Takes the lines of one batch that match its filter (the same object for every stream of the key). */
  onLines(batch: MatchedLines): void;
  /** Sends a keep-alive comment. */
  ping(): void;
}

/** The attached streams of one owner that share one filter. */
interface FilterGroup {
  match: (line: LogLine) => boolean;
  subs: Set<LiveSubscriber>;
}

export interface LogStreamHubOptions {
  bus: LogBus;
  /** Keep-alive period (fal's queue streams use 15 s). */
  pingMs?: number;
  /**
   * Socket writes per second the fan-out aims to stay under, default 10,000: after a fan-out to `n`
   * streams the next waits until `n / rate` s after it began, and batches arriving meanwhile go out
   * together, in one write per stream. Each write costs a syscall that, on loopback, also runs the
   * receiver's TCP stack; pacing bounds that cost with many streams and delays a few streams by µs.
   */
  maxWritesPerSecond?: number;
  /** Longest a batch may wait for its fan-out, default 50 ms. */
  maxFanOutDelayMs?: number;
}

/** Fans the log bus out to every open stream with one subscription, indexed by owner. */
export interface LogStreamHub {
  /** Starts delivering live lines to `sub`; returns the detach function. */
  attach(sub: LiveSubscriber): () => void;
  /** Detaches from the bus and stops pings (streams are closed by their owners). */
  close(): void;
}

/** Creates the hub; it subscribes to the bus only while some stream is attached. */
export function createLogStreamHub(opts: LogStreamHubOptions): LogStreamHub {
  const byOwner = new Map<string, Map<string, FilterGroup>>();
  let unsubscribe: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let attached = 0;
  const msPerWrite = 1000 / (opts.maxWritesPerSecond ?? 10_000);
  const maxDelay = opts.maxFanOutDelayMs ?? 50;
  let queued: LogLine[] = [];
  let pace: NodeJS.Timeout | null = null;
  let nextAt = 0;

  const onBatch = (lines: readonly LogLine[]) => {
    if (pace === null && performance.now() >= nextAt) {
      fanOut(lines);
      return;
    }
    for (const l of lines) queued.push(l);
    pace ??= setTimeout(fanOutQueued, Math.min(maxDelay, nextAt - performance.now()));
  };
  const fanOutQueued = () => {
    pace = null;
    const lines = queued;
    queued = [];
    fanOut(lines);
  };
  const fanOut = (lines: readonly LogLine[]) => {
    const began = performance.now();
    nextAt = began + deliver(lines) * msPerWrite;
  };

  /** Hands the lines to every attached stream whose filter matches; returns how many streams took some. */
  const deliver = (lines: readonly LogLine[]): number => {
    let writes = 0;
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
      const filters = byOwner.get(owner);
      if (!filters) continue;
      for (const f of filters.values()) {
        const matched = group.filter(f.match);
        if (matched.length === 0) continue;
        const batch = new MatchedLines(matched, frameOf);
        for (const s of f.subs) s.onLines(batch);
        writes += f.subs.size;
      }
    }
    return writes;
  };

  const start = () => {
    unsubscribe = opts.bus.subscribe(onBatch);
    timer = setInterval(() => {
      for (const filters of byOwner.values())
        for (const f of filters.values()) for (const s of f.subs) s.ping();
    }, opts.pingMs ?? 15_000);
    timer.unref();
  };
  const stop = () => {
    unsubscribe?.();
    unsubscribe = null;
    if (pace) clearTimeout(pace);
    pace = null;
    queued = [];
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    attach(sub) {
      let filters = byOwner.get(sub.owner);
      if (!filters) {
        filters = new Map();
        byOwner.set(sub.owner, filters);
      }
      let group = filters.get(sub.filterKey);
      if (!group) {
        group = { match: sub.match, subs: new Set() };
        filters.set(sub.filterKey, group);
      }
      group.subs.add(sub);
      if (attached++ === 0) start();
      let detached = false;
      return () => {
        if (detached) return;
        detached = true;
        group.subs.delete(sub);
        if (group.subs.size === 0) filters.delete(sub.filterKey);
        if (filters.size === 0) byOwner.delete(sub.owner);
        if (--attached === 0) stop();
      };
    },
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
