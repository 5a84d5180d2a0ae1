import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { StoredResult } from '@hangar/core';
import { isJsonType } from './invocation.js';
import { type GuardedTarget, pinnedLookup } from './net-guard.js';
import type { WebhookSigner } from './webhook-signer.js';

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

/** One signed webhook POST. */
export interface WebhookPost {
  target: GuardedTarget;
  requestId: string;
  userId: string;
  body: Buffer;
  /** Epoch seconds signed into this attempt (receivers reject stale timestamps, so each attempt re-signs). */
  timestamp: number;
  /** The whole attempt's limit: connect, send and answer. */
  timeoutMs: number;
}

/**
 * POSTs a webhook with fal's headers and signature to the already checked address, and resolves with the
 * receiver's status; rejects on connection errors and timeouts. Redirects are not followed.
 */
export function postWebhook(signer: WebhookSigner, post: WebhookPost, signal?: AbortSignal): Promise<number> {
  const { target, requestId, userId, body, timestamp } = post;
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'hangar-webhook/1',
    'x-fal-webhook-request-id': requestId,
    'x-fal-webhook-user-id': userId,
    'x-fal-webhook-timestamp': String(timestamp),
    'x-fal-webhook-signature': signer.sign(requestId, userId, timestamp, body),
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target.url, {
      method: 'POST',
      headers,
      lookup: pinnedLookup(target),
      ...(isIP(target.hostname) ? {} : { servername: target.hostname }),
      agent: false,
      ...(signal ? { signal } : {}),
    });
    // A receiver trickling bytes must not hold the attempt (and its lease) past the limit.
    const timer = setTimeout(() => req.destroy(new Error('timed out')), post.timeoutMs);
    const settle = () => clearTimeout(timer);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        settle();
        resolve(res.statusCode ?? 0);
      });
      res.on('error', (err) => {
        settle();
        reject(err);
      });
    });
    req.on('error', (err) => {
      settle();
      reject(err);
    });
    req.end(body);
  });
}
