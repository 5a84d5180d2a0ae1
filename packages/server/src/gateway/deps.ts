import type {
  App,
  Clock,
  Dispatcher,
  IdSource,
  JsonInputLimits,
  LogBus,
  LogStore,
  RequestStatusFeed,
  RequestStore,
  WebhookOutbox,
} from '@hangar/core';
import type { StreamSlots } from '../http/stream-slots.js';

/** Finds an app by owner and name (an `AppStore` satisfies it). */
export interface AppLookup {
  getApp(owner: string, name: string): Promise<App | null>;
}

/** Where and how completion webhooks are delivered. */
export interface WebhookOptions {
  /** Lets webhooks reach loopback, private and other non-public addresses (development only). */
  allowPrivate: boolean;
  /** Host names, IPs or CIDRs that may be reached even when not public. */
  allowlist: string[];
  /** PEM (PKCS#8) Ed25519 private key used to sign webhooks; an ephemeral key is generated when absent. */
  privateKeyPem?: string;
  /** Where deliveries wait, durable with the requests (core `WebhookOutbox`). */
  outbox: WebhookOutbox;
  /** Delivery attempts per webhook, first included (default 11: fal retries 10 times). */
  maxAttempts?: number;
  /** First retry delay, doubled per retry (default 7 s: 10 retries within 2 h). */
  retryBaseMs?: number;
  /** Limit of one attempt (default 15 s). */
  attemptTimeoutMs?: number;
  /** How long a claimed delivery is kept from other senders (default 60 s). */
  leaseMs?: number;
  /** How often the outbox is polled for due deliveries (default 1 s). */
  pollMs?: number;
}

/** Minimal logger the gateway reports unexpected failures through (pino's shape). */
export interface GatewayLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Everything the gateway needs, as ports. */
export interface GatewayDeps {
  dispatcher: Dispatcher;
  requests: RequestStore;
  logs: LogStore;
  logBus: LogBus;
  apps: AppLookup;
  clock: Clock;
  ids: IdSource;
  /** Base URL of this server (no trailing slash), used in `status_url`, `response_url`, `cancel_url`. */
  publicUrl: () => string;
  /** How long queue results stay readable after completion. */
  resultTtlMs: number;
  /** Cap in bytes on stored `json_input`/`json_output`; larger payloads are stored as a size marker. */
  jsonCap: number;
  /** How complex a JSON body may be; beyond, a call is refused before it is recorded or dispatched. */
  jsonInput: JsonInputLimits;
  webhook: WebhookOptions;
  logger: GatewayLogger;
  /** Open streams per key, shared with the log streams (config `limits.max_sse_streams_per_key`). */
  streams: StreamSlots;
  /** In a cluster: status changes announced to, and followed from, the other nodes. */
  statusFeed?: RequestStatusFeed;
  /** How often expired results are purged (default 60 s). */
  purgeIntervalMs?: number;
  /** How long a finished request stays in memory so reads never race the batched store (default 10 s). */
  completedGraceMs?: number;
  /** How long a looked-up app is cached (default 1 s). */
  appCacheMs?: number;
}
