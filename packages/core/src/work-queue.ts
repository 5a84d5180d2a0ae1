import type { RetryCondition } from './domain.js';

/** One accepted request waiting for (or holding) a runner somewhere in the cluster. */
export interface QueuedWork {
  requestId: string;
  owner: string;
  app: string;
  /** `low` runs after every `normal` request of the app. */
  priority: 'normal' | 'low';
  /** Acceptance time (epoch ms): orders the queue within a priority band. */
  sentAt: number;
  /** Start deadline (epoch ms, `X-Fal-Request-Timeout`), or null. */
  startDeadline: number | null;
  /** Attempts already made (on any node); the next one is `attempts + 1`. */
  attempts: number;
  /** Retries already made per condition (each condition has its own budget). */
  retriesBy: Record<RetryCondition, number>;
  /** The node that accepted the request: completions are announced to it. */
  acceptedBy: string;
  /** How to send it to a runner, opaque to the queue (JSON written by the dispatcher). */
  spec: string;
}

/** A claim of one request by one node: `token` fences every later write of that node about it. */
export interface WorkClaim {
  work: QueuedWork;
  /** Grows with every claim of any request: a stale holder's token never matches again. */
  token: number;
  node: string;
  leaseUntil: number;
}

/** Where a request is in the queue's eyes. */
export type WorkState =
  | { state: 'queued' }
  | { state: 'claimed'; node: string; token: number; leaseUntil: number }
  | { state: 'unknown' };

/**
 * The cluster-wide queue of accepted requests, per app: priority band first, then acceptance order. A node
 * with a free runner claims the head under a lease it renews; a claim whose lease lapsed (its node died or
 * was cut off) is taken back with a new token, so the old holder's completion is refused.
 */
export interface WorkQueue {
  /** Adds a request (a request already known is left as it is). */
  enqueue(work: QueuedWork): Promise<void>;
  /** Takes the head of the app's queue for `node` until `now + leaseMs`; null when the queue is empty. */
  claim(owner: string, app: string, node: string, leaseMs: number, now: number): Promise<WorkClaim | null>;
  /** Extends a claim; false when the token no longer holds it (the lease lapsed and it was taken back). */
  renew(requestId: string, token: number, leaseMs: number, now: number): Promise<boolean>;
  /** Ends a claim for good (the request was answered); false when the token no longer holds it. */
  complete(requestId: string, token: number): Promise<boolean>;
  /** Puts a claimed request back at its place with its attempt counts updated (a retry); false when fenced off. */
  requeue(
    requestId: string,
    token: number,
    update: Pick<QueuedWork, 'attempts' | 'retriesBy'>,
  ): Promise<boolean>;
  /** Requests ahead of this one in its app's queue (0-based); null when it is not queued. */
  position(requestId: string): Promise<number | null>;
  state(requestId: string): Promise<WorkState>;
  /** Removes a queued request; null when it is not queued (claimed, finished or unknown). */
  remove(requestId: string): Promise<QueuedWork | null>;
  /** Removes every queued request of the app, in queue order. */
  flush(owner: string, app: string): Promise<QueuedWork[]>;
  /** How many requests of the app wait (claimed ones excluded). */
  length(owner: string, app: string): Promise<number>;
  /**
   * Takes back up to `limit` claims whose lease ended before `now`, re-claimed by `node` with new tokens:
   * the caller decides (fal's retry rules) whether each goes back to the queue or ends.
   */
  reclaimExpired(node: string, leaseMs: number, now: number, limit: number): Promise<WorkClaim[]>;
  close(): Promise<void>;
}

/**
 * Small messages between nodes about queued requests (a start, a completion, a cancel, new work). Delivery
 * is at most once: a lost message is made up for by reading the queue and the request store again.
 */
export interface QueueSignals {
  /** Sends `message` to the node `node` (`*` reaches every node). */
  send(node: string, message: string): Promise<void>;
  /** Calls `listener` with every message to `node` or to `*` until the returned function is called. */
  listen(node: string, listener: (message: string) => void): Promise<() => void>;
  close(): Promise<void>;
}
