/**
 * The durable webhook outbox: one delivery per queued request with `fal_webhook`, recorded when the
 * request is accepted, armed with its body when the request completes, then claimed, sent and retried on
 * fal's schedule by any node holding a lease on it.
 */

/** Attempts per delivery, the first included: fal retries a failed webhook 10 times. */
export const WEBHOOK_MAX_ATTEMPTS = 11;

/** Delay before the first retry; each next retry waits twice as long (10 retries span 1 h 59 min). */
export const WEBHOOK_RETRY_BASE_MS = 7_000;

/** Longest an attempt may take (connect, send, answer), after which it counts as failed. */
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 15_000;

/** How long a claim keeps other senders off a delivery: well past one attempt's timeout. */
export const WEBHOOK_LEASE_MS = 60_000;

/** Wait before retry `retry` (1 = the wait after the first failed attempt), in ms. */
export function webhookRetryDelayMs(retry: number, baseMs: number = WEBHOOK_RETRY_BASE_MS): number {
  return baseMs * 2 ** Math.max(0, retry - 1);
}

/** A delivery as recorded at acceptance. `id` is the request id: the same on every attempt. */
export interface WebhookDelivery {
  id: string;
  owner: string;
  app: string;
  /** Owner of the submitting key: the `X-Fal-Webhook-User-Id` header. */
  userId: string;
  url: string;
  createdAt: number;
}

/**
 * `waiting`: the request runs, no body yet; `pending`: due at `dueAt` (claimed ones are pushed a lease
 * ahead); `delivered` and `failed` are final.
 */
export type WebhookDeliveryState = 'waiting' | 'pending' | 'delivered' | 'failed';

/** A delivery claimed by one sender: attempt `attempt` (1-based) is its to make until the lease ends. */
export interface ClaimedDelivery extends WebhookDelivery {
  body: Buffer;
  attempt: number;
}

/** What one attempt got: the receiver's HTTP status (null when none) and why it failed. */
export interface WebhookAttemptOutcome {
  status: number | null;
  error: string | null;
}

/** The stored record of a delivery. */
export interface WebhookDeliveryRecord extends WebhookDelivery {
  state: WebhookDeliveryState;
  /** Attempts started (claims made). */
  attempts: number;
  /** When it is next due (pending) or null. */
  dueAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  /** When it was delivered or given up. */
  finishedAt: number | null;
}

/**
 * Where deliveries wait. Each call is one atomic write; a write by a sender whose claim is stale (its
 * `attempt` is no longer the latest, or the delivery is final) changes nothing and resolves false.
 */
export interface WebhookOutbox {
  /** Records a delivery before its request is accepted (state `waiting`); a second call is ignored. */
  enqueue(delivery: WebhookDelivery): Promise<void>;
  /**
   * Gives a waiting (or unrecorded) delivery its body and makes it due at `dueAt`; a delivery already
   * armed or final is left as it is.
   */
  ready(delivery: WebhookDelivery, body: Buffer, dueAt: number): Promise<void>;
  /** Claims up to `limit` deliveries due at `now` (the earliest due, in no set order), each pushed `leaseMs` ahead. */
  claim(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Final: the receiver answered 2xx. */
  delivered(id: string, attempt: number, at: number, status: number): Promise<boolean>;
  /** The attempt failed; due again at `dueAt`. */
  retry(
    id: string,
    attempt: number,
    at: number,
    outcome: WebhookAttemptOutcome,
    dueAt: number,
  ): Promise<boolean>;
  /** Final: the last attempt failed (or the destination is refused). */
  giveUp(id: string, attempt: number, at: number, outcome: WebhookAttemptOutcome): Promise<boolean>;
  /** Final without an attempt: a waiting delivery whose request can never complete (was never recorded). */
  drop(id: string, at: number, reason: string): Promise<boolean>;
  get(id: string): Promise<WebhookDeliveryRecord | null>;
  /** Waiting deliveries created before `createdBefore`, by id after `afterId`: to arm missed completions. */
  listWaiting(createdBefore: number, afterId: string | null, limit: number): Promise<WebhookDelivery[]>;
  /** Forgets final deliveries finished before `before`; returns how many. */
  purge(before: number): Promise<number>;
  close(): Promise<void>;
}
