import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '@hangar/core';
import type { LaneReplyLike } from '../http/fast-lane.js';
import type { GatewayDeps } from './deps.js';
import type { Execution } from './execution.js';
import type { LiveRequests } from './live.js';
import type { NetGuard } from './net-guard.js';
import type { WebhookSigner } from './webhook-signer.js';

/** What every gateway handler works with: the ports plus the gateway's own in-memory parts. */
export interface GatewayContext {
  deps: GatewayDeps;
  exec: Execution;
  live: LiveRequests;
  guard: NetGuard;
  signer: WebhookSigner;
  /** Ends each open status stream (called on close so the HTTP server can stop). */
  streams: Set<() => void>;
}

/** A gateway call addressed by path, as routed from `/run/*`, `/queue/*` or a proxy target URL. */
export interface GatewayTarget {
  kind: 'run' | 'queue';
  method: string;
  /** Path after `/run/` or `/queue/`: `owner/app[/rest]`, no query. */
  path: string;
  /** Raw query string without `?`. */
  search: string;
}

/** What gateway handlers read from a request: a Fastify request, or the fast lane's. */
export interface GatewayRequest {
  headers: IncomingHttpHeaders;
  /** The client's address (the socket's remote address). */
  ip: string;
  body?: unknown;
  principal: Principal | null;
}

/** The reply methods gateway handlers use: Fastify's reply, or the fast lane's over node:http. */
export type GatewayReply = LaneReplyLike;
