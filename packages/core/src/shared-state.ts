// Ports for the per-process state a cluster of nodes must share: rate limits, stream caps, key revocation
// and fan-out to live streams. Each has an in-process adapter (one node) and a Redis adapter (a cluster).
import type { LogLine } from './domain.js';

/** Per-key request budgets (token buckets) shared by every node. */
export interface RateLimiter {
  /** Takes one token of `key`'s bucket: 0 when allowed, else the whole seconds until a token is free. */
  take(key: string): Promise<number>;
  close(): Promise<void>;
}

/** A reserved stream slot; releasing it twice is harmless. */
export type SlotRelease = () => void;

/**
 * One count of open long-lived streams (server-sent events, WebSockets) per holder, shared by every stream
 * route and every node, so `limits.max_sse_streams_per_key` bounds them together.
 */
export interface StreamSlots {
  /** Streams one holder may keep open at once. */
  readonly max: number;
  /** Reserves a slot; resolves to its release function, or null when the holder is at the cap. */
  acquire(holder: string): Promise<SlotRelease | null>;
  /** Open streams of a holder. */
  countFor(holder: string): Promise<number>;
  close(): Promise<void>;
}

/** Revocations of API keys announced to every node, so no node keeps serving a revoked key from its cache. */
export interface KeyRevocations {
  /** Tells every node (this one included) that `keyId` was revoked or replaced. */
  announce(keyId: string): Promise<void>;
  /**
   * Calls `listener` with each announced key id, and with null when announcements may have been missed
   * (after a reconnect): then every cached key must be forgotten. Returns the unsubscribe function.
   */
  subscribe(listener: (keyId: string | null) => void): () => void;
  /** False while announcements may go unseen (the shared engine is unreachable): do not trust a cache. */
  reliable(): boolean;
  close(): Promise<void>;
}

/** Idempotency keys remembered by every node for a while, so a retry sent to any node is not done twice. */
export interface IdempotencyKeys {
  /** True when `key` was recorded within the keys' lifetime. */
  seen(key: string): Promise<boolean>;
  /** Remembers `key` (after the operation succeeded, so a failed one may be retried). */
  record(key: string): Promise<void>;
}

/** One message of a fan-out topic. */
export interface FanoutMessage {
  /** `<ms>-<seq>`, increasing within a topic: usable as an SSE `id:` and to resume after it on any node. */
  id: string;
  data: string;
}

/**
 * Publish/subscribe over named topics with replay: what one node publishes reaches the subscribers of every
 * node in publish order, and a subscriber may start after an id it saw earlier (`Last-Event-ID`).
 */
export interface Fanout {
  /** Appends `data` to `topic`; resolves to its id once every node can read it. */
  publish(topic: string, data: string): Promise<string>;
  /**
   * Delivers the messages of `topic` after `afterId` (null: those published from now on), in order, until
   * the returned function is called. Messages older than the topic's retention are not replayed.
   */
  subscribe(topic: string, afterId: string | null, listener: (msg: FanoutMessage) => void): () => void;
  close(): Promise<void>;
}

/** Compares two fan-out ids (`<ms>-<seq>`): negative when `a` is older than `b`. */
export function compareFanoutIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/** True for a well-formed fan-out id (`<ms>-<seq>`), as a client may send it back in `Last-Event-ID`. */
export function isFanoutId(value: string): boolean {
  return /^\d{1,15}-\d{1,15}$/.test(value);
}

/** Where a followed status stream writes (an SSE response). */
export interface StatusEventSink {
  write(chunk: string): void;
  end(): void;
}

/** How `RequestStatusFeed.follow` shapes its events. */
export interface FollowStatusOptions {
  /** The status as read from the store when the stream opened: sent first unless resuming. */
  initial: Record<string, unknown>;
  /** `logs=1`: the request's new log lines go out with the latest status, as on the accepting node. */
  withLogs: boolean;
  toLog: (line: LogLine) => unknown;
  /** Keep-alive period; default 10 s. */
  pingMs?: number;
}

/**
 * Request status changes across nodes: the node running a request announces each change, and a status
 * stream opened on any other node follows them (with `Last-Event-ID` resume) until COMPLETED.
 */
export interface RequestStatusFeed {
  /** A live request changed; `body` (its status body without logs) is built only when the status moved. */
  changed(
    requestId: string,
    status: string,
    body: () => Record<string, unknown> | Promise<Record<string, unknown>>,
  ): void;
  /** Streams the request's status events after `afterId` to `sink`; returns the stop function. */
  follow(
    requestId: string,
    afterId: string | null,
    sink: StatusEventSink,
    opts: FollowStatusOptions,
  ): () => void;
}
