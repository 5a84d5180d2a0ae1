import {
  type ClaimedDelivery,
  type Clock,
  type LogStore,
  type RequestRecord,
  type RequestStore,
  type StoredResult,
  WEBHOOK_ATTEMPT_TIMEOUT_MS,
  WEBHOOK_LEASE_MS,
  WEBHOOK_MAX_ATTEMPTS,
  type WebhookAttemptOutcome,
  type WebhookDelivery,
  type WebhookOutbox,
  webhookRetryDelayMs,
} from '@hangar/core';
import type { GatewayLogger, WebhookOptions } from './deps.js';
import type { LiveRequest } from './live.js';
import { type NetGuard, NetGuardError } from './net-guard.js';
import { postWebhook, webhookBody } from './webhook.js';
import type { WebhookSigner } from './webhook-signer.js';

const POLL_MS = 1_000;
const CLAIM_BATCH = 16;
const REPAIR_INTERVAL_MS = 30_000;
/** A waiting delivery this old whose request completed missed its arming (a crash between the two writes). */
const REPAIR_AGE_MS = 60_000;
const REPAIR_BATCH = 100;
/** How long delivered and failed deliveries stay recorded. */
const RETENTION_MS = 7 * 24 * 3_600_000;

/** What the sender works with. */
export interface WebhookSenderDeps {
  outbox: WebhookOutbox;
  requests: RequestStore;
  logs: LogStore;
  signer: WebhookSigner;
  guard: NetGuard;
  clock: Clock;
  logger: GatewayLogger;
  options: WebhookOptions;
}

/**
 * Sends the webhooks of the outbox: claims due deliveries with a lease (several senders, on one node or
 * many, never hold the same attempt), POSTs them signed, and records delivered, a retry on fal's schedule,
 * or the end. Owners see failed attempts as lines of the request's logs.
 */
export class WebhookSender {
  private readonly maxAttempts: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private cycle: Promise<void> | null = null;
  private again = false;
  private repairCursor: string | null = null;
  private closed = false;

  constructor(private readonly deps: WebhookSenderDeps) {
    this.maxAttempts = deps.options.maxAttempts ?? WEBHOOK_MAX_ATTEMPTS;
  }

  /** Records the delivery of a request about to be accepted; resolves once it is durable. */
  accept(rec: RequestRecord, userId: string): Promise<void> {
    return this.deps.outbox.enqueue(deliveryOf(rec, userId));
  }

  /** Arms the delivery of a finished request and sends it at once. */
  finished(entry: LiveRequest, response: StoredResult): void {
    const url = entry.rec.webhookUrl;
    if (!url || this.closed) return;
    const body = webhookBody(entry.rec.requestId, response);
    this.deps.outbox
      .ready(deliveryOf(entry.rec, entry.userId), body, this.deps.clock())
      .then(() => this.kick())
      .catch((err: unknown) => {
        // The delivery stays waiting: the repair pass arms it from the stored request.
        this.deps.logger.warn({ err, requestId: entry.rec.requestId }, 'webhook could not be armed');
      });
  }

  /**
   * Arms the delivery of a request another node accepted and this node ran and recorded (cluster queue):
   * the accepting node arms it too when it hears the outcome; arming a delivery no longer waiting does
   * nothing, so the one that arrives first wins and a dead accepting node delays nothing.
   */
  recorded(rec: RequestRecord, response: StoredResult): void {
    if (!rec.webhookUrl || this.closed) return;
    this.deps.outbox
      .ready(deliveryOf(rec, rec.owner), webhookBody(rec.requestId, response), this.deps.clock())
      .then(() => this.kick())
      .catch((err: unknown) => {
        this.deps.logger.warn({ err, requestId: rec.requestId }, 'webhook could not be armed');
      });
  }

  /** Polls the outbox and repairs missed arming until `close()`. */
  start(): void {
    const poll = setInterval(() => this.kick(), this.deps.options.pollMs ?? POLL_MS);
    const repair = setInterval(() => void this.repair(), REPAIR_INTERVAL_MS);
    poll.unref();
    repair.unref();
    this.timers.push(poll, repair);
    void this.repair();
    this.kick();
  }

  /** Claims and sends what is due now; resolves once those attempts are recorded. */
  async runOnce(): Promise<void> {
    const { outbox, clock } = this.deps;
    const leaseMs = this.deps.options.leaseMs ?? WEBHOOK_LEASE_MS;
    for (;;) {
      if (this.closed) return;
      const claims = await outbox.claim(clock(), CLAIM_BATCH, leaseMs);
      await Promise.all(claims.map((c) => this.track(this.attempt(c))));
      if (claims.length < CLAIM_BATCH) return;
    }
  }

  /** Arms waiting deliveries whose request completed without it (a crash between the two writes). */
  async repair(): Promise<void> {
    const { outbox, requests, clock, logger } = this.deps;
    try {
      const now = clock();
      const waiting = await outbox.listWaiting(now - REPAIR_AGE_MS, this.repairCursor, REPAIR_BATCH);
      this.repairCursor = waiting.length < REPAIR_BATCH ? null : waiting.at(-1)!.id;
      for (const d of waiting) {
        const rec = await requests.get(d.id);
        if (!rec) await outbox.drop(d.id, now, 'request was not recorded');
        else if (rec.status === 'COMPLETED') {
          const result = await requests.getResult(d.id);
          const empty = { statusCode: rec.statusCode ?? 500, contentType: '', body: Buffer.alloc(0) };
          await outbox.ready(d, webhookBody(d.id, result ?? empty), now);
        }
      }
      await outbox.purge(now - RETENTION_MS);
      if (waiting.length > 0) this.kick();
    } catch (err) {
      logger.warn({ err }, 'webhook outbox repair failed');
    }
  }

  /** Starts a send cycle now, or right after the one running. */
  private kick(): void {
    if (this.closed) return;
    if (this.cycle) {
      this.again = true;
      return;
    }
    this.cycle = this.runOnce()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'webhook outbox unavailable'))
      .finally(() => {
        this.cycle = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  private async attempt(c: ClaimedDelivery): Promise<void> {
    const { outbox, clock, guard, signer } = this.deps;
    if (c.attempt > this.maxAttempts) {
      // Its last attempt's sender died before recording the outcome.
      await outbox.giveUp(c.id, c.attempt, clock(), { status: null, error: 'attempts exhausted' });
      return;
    }
    let outcome: WebhookAttemptOutcome;
    try {
      const target = await guard.resolve(c.url);
      const timeoutMs = this.deps.options.attemptTimeoutMs ?? WEBHOOK_ATTEMPT_TIMEOUT_MS;
      const timestamp = Math.floor(clock() / 1000);
      const post = { target, requestId: c.id, userId: c.userId, body: c.body, timestamp, timeoutMs };
      const status = await postWebhook(signer, post, this.abort.signal);
      if (status >= 200 && status < 300) {
        await outbox.delivered(c.id, c.attempt, clock(), status);
        return;
      }
      outcome = { status, error: `HTTP ${status}` };
    } catch (err) {
      if (err instanceof NetGuardError) return this.refused(c, err);
      outcome = { status: null, error: this.closed ? 'server shut down' : errorText(err) };
    }
    await this.failed(c, outcome);
  }

  private async failed(c: ClaimedDelivery, outcome: WebhookAttemptOutcome): Promise<void> {
    const { outbox, clock } = this.deps;
    const now = clock();
    if (this.closed) {
      // Shutting down: due again at once, for another node or the next start.
      await outbox.retry(c.id, c.attempt, now, outcome, now);
      return;
    }
    if (c.attempt >= this.maxAttempts) {
      if (await outbox.giveUp(c.id, c.attempt, now, outcome)) {
        this.ownerLine(
          c,
          'error',
          `Webhook delivery failed after ${c.attempt} attempts (${outcome.error}); giving up`,
        );
      }
      return;
    }
    const delay = webhookRetryDelayMs(c.attempt, this.deps.options.retryBaseMs);
    if (await outbox.retry(c.id, c.attempt, now, outcome, now + delay)) {
      const next = `next attempt in ${Math.ceil(delay / 1000)} s`;
      this.ownerLine(
        c,
        'warn',
        `Webhook delivery attempt ${c.attempt} of ${this.maxAttempts} failed (${outcome.error}); ${next}`,
      );
    }
  }

  private async refused(c: ClaimedDelivery, err: NetGuardError): Promise<void> {
    this.deps.logger.warn({ requestId: c.id, reason: err.message }, 'webhook destination refused');
    const outcome = { status: null, error: 'destination refused' };
    if (await this.deps.outbox.giveUp(c.id, c.attempt, this.deps.clock(), outcome)) {
      this.ownerLine(c, 'error', 'Webhook destination refused: not a public address, or it does not resolve');
    }
  }

  /** A line of the request's logs, where its owner looks. */
  private ownerLine(c: WebhookDelivery, level: 'warn' | 'error', message: string): void {
    const labels = { source: 'gateway', fal_request_id: c.id };
    this.deps.logs.append([
      { ts: this.deps.clock(), owner: c.owner, app: c.app, revision: '', level, message, labels },
    ]);
  }

  /** Stops polling; attempts under way are cut off and made due again at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.abort.abort();
    await this.cycle;
    await Promise.allSettled([...this.inFlight]);
  }
}

function deliveryOf(rec: RequestRecord, userId: string): WebhookDelivery {
  return {
    id: rec.requestId,
    owner: rec.owner,
    app: rec.app,
    userId,
    url: rec.webhookUrl!,
    createdAt: rec.sentAt,
  };
}

/** A short reason for a failed attempt (no stack, no local detail beyond the receiver's address). */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return 'failed';
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ABORT_ERR') return 'server shut down';
  return code ?? err.message;
}
