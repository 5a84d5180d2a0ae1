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
