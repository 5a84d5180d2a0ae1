import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Clock, StoredResult } from '@hangar/core';
import type { GatewayLogger, WebhookOptions } from './deps.js';
import { isJsonType } from './invocation.js';
import type { LiveRequest } from './live.js';
import { type GuardedTarget, type NetGuard, NetGuardError, pinnedLookup } from './net-guard.js';
import type { WebhookSigner } from './webhook-signer.js';

const DEFAULT_RETRY_BASE_MS = 15_000;
const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;
const MAX_RETRY_DELAY_MS = 60 * 60_000;

/** One webhook to deliver. */
interface Delivery {
  requestId: string;
  userId: string;
  url: string;
  body: Buffer;
  target: GuardedTarget | null;
  attempt: number;
}

/** Builds fal's webhook body for a completed request. */
export function webhookBody(requestId: string, response: StoredResult): Buffer {
  const ok = response.statusCode >= 200 && response.statusCode < 300;
  const body: Record<string, unknown> = { request_id: requestId, gateway_request_id: requestId };
  body['status'] = ok ? 'OK' : 'ERROR';
  if (!ok) body['error'] = `Invalid status code: ${response.statusCode}`;
  body['payload'] = null;
  if (isJsonType(response.contentType) && response.body.length > 0) {
    try {
      body['payload'] = JSON.parse(response.body.toString('utf8'));
    } catch {
      body['payload_error'] = 'Response payload is not valid JSON';
    }
  } else if (response.body.length > 0) {
    body['payload_error'] = 'Response payload is not valid JSON';
  }
  return Buffer.from(JSON.stringify(body));
}

/** Delivers signed completion webhooks with retries, only to destinations the guard allows. */
export class WebhookSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly opts: WebhookOptions,
    private readonly signer: WebhookSigner,
    private readonly guard: NetGuard,
    private readonly clock: Clock,
    private readonly logger: GatewayLogger,
  ) {}

  /** Schedules the webhook of a finished request (no-op without `fal_webhook`). */
  deliver(entry: LiveRequest, response: StoredResult): void {
    const url = entry.rec.webhookUrl;
    if (!url || this.closed) return;
    const requestId = entry.rec.requestId;
    const body = webhookBody(requestId, response);
    void this.attempt({ requestId, userId: entry.userId, url, body, target: null, attempt: 1 });
  }

  private async attempt(d: Delivery): Promise<void> {
    if (this.closed) return;
    try {
      d.target ??= await this.guard.resolve(d.url);
    } catch (err) {
      const reason = err instanceof NetGuardError ? err.message : String(err);
      this.logger.warn({ requestId: d.requestId, reason }, 'webhook destination refused');
      return;
    }
    const status = await this.post(d).catch(() => 0);
    if (status >= 200 && status < 300) return;
    if (d.attempt >= this.opts.maxAttempts) {
      this.logger.warn({ requestId: d.requestId, status, attempts: d.attempt }, 'webhook delivery failed');
      return;
    }
    const base = this.opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    const delay = Math.min(base * 2 ** (d.attempt - 1), MAX_RETRY_DELAY_MS);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt({ ...d, attempt: d.attempt + 1 });
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private post(d: Delivery): Promise<number> {
    const target = d.target!;
    const timestamp = Math.floor(this.clock() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(d.body.length),
      'user-agent': 'hangar-webhook/1',
      'x-fal-webhook-request-id': d.requestId,
      'x-fal-webhook-user-id': d.userId,
      'x-fal-webhook-timestamp': String(timestamp),
      'x-fal-webhook-signature': this.signer.sign(d.requestId, d.userId, timestamp, d.body),
    };
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeout = this.opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const req = send(target.url, {
        method: 'POST',
        headers,
        lookup: pinnedLookup(target),
        ...(isIP(target.hostname) ? {} : { servername: target.hostname }),
        timeout,
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('webhook timed out')));
      req.on('error', reject);
      req.end(d.body);
    });
  }

  /** Cancels pending retries. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
