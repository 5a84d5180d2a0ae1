import type { IncomingHttpHeaders } from 'node:http';
import {
  type App,
  checkJsonInput,
  type DispatchRequest,
  type JsonInputLimits,
  JsonText,
  PlatformError,
  type Principal,
  parseRetryConfig,
  type RetryBudgets,
} from '@hangar/core';
import type { AppLookup } from './deps.js';

/** A request to an app, resolved, authorised and ready to dispatch or enqueue. */
export interface Invocation {
  app: App;
  /** Route path as the manifest names it (`/` or e.g. `/turbo`). */
  route: string;
  endpointId: string;
  method: string;
  /** Path sent to the runner: the route plus the query string (without any `fal_*` parameter). */
  forwardPath: string;
  /** Headers sent to the runner: the caller's, without platform headers, plus `x-fal-caller-user-id`. */
  headers: Record<string, string>;
  body: Buffer;
  principal: Principal | null;
  priority: 'normal' | 'low';
  noRetry: boolean;
  storeIo: boolean;
  /** Running limit of an attempt: the manifest's `request_timeout`. */
  timeoutS: number;
  /** The caller's start deadline in seconds from acceptance (`X-Fal-Request-Timeout`), or null. */
  startTimeoutS: number | null;
  /** Per-condition retry budgets of `X-Fal-Retry-Config`, honoured only when the app's owner calls. */
  retryBudgets: RetryBudgets | null;
  /** `X-Fal-Runner-Hint`, for routing (never forwarded to the app), or null. */
  runnerHint: string | null;
  jsonInput: unknown;
  webhookUrl: string | null;
  /** `fal_max_queue_length`: refuse (429) when more requests than this wait in the app's queue. */
  maxQueueLength: number | null;
  /** Set for a WebSocket connection: holds the runner slot instead of sending an HTTP request. */
  hold?: DispatchRequest['hold'];
}

/** The parts of an HTTP request an invocation is built from (the proxy supplies them from its target URL). */
export interface InvocationSource {
  owner: string;
  appName: string;
  /** Path after `owner/app`, without leading slash or query (`''` for the root route). */
  rest: string;
  /** Raw query string without `?`. */
  search: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  principal: Principal | null;
}

/** Hop-by-hop, credential and framing headers: never forwarded to the app. */
const DROPPED_HEADERS = new Set([
  'authorization',
  'connection',
  'content-length',
  'host',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The caller's identity as the app receives it: the owner of the caller's key, absent for anonymous calls. */
export const CALLER_USER_ID_HEADER = 'x-fal-caller-user-id';

const TRUE_VALUES = new Set(['1', 'true', 'yes']);

/** Enforces the app's `auth_mode`: private → the owner's keys only, shared → any key, public → anyone. */
export function authorizeApp(app: App, principal: Principal | null): void {
  const mode = app.manifest.auth_mode;
  if (mode === 'public') return;
  if (!principal) throw new PlatformError('AUTH_MISSING');
  if (mode === 'private' && principal.owner !== app.owner) throw new PlatformError('AUTH_FORBIDDEN');
}

/** The body limits an invocation is checked against. */
export interface InvocationLimits {
  /** Stored `json_input` cap in bytes (larger inputs are recorded as a size marker). */
  jsonCap: number;
  jsonInput: JsonInputLimits;
}

/** Resolves app and route, checks access and the body, and reads the fal request headers. */
export async function buildInvocation(
  src: InvocationSource,
  apps: AppLookup,
  limits: InvocationLimits,
): Promise<Invocation> {
  const app = await apps.getApp(src.owner, src.appName);
  if (!app) throw new PlatformError('APP_NOT_FOUND', `App ${src.owner}/${src.appName} not found`);
  authorizeApp(app, src.principal);
  const route = routeOf(app, src.rest);
  if (src.body.length > 0 && isJsonType(src.headers['content-type'])) {
    assertJsonInput(src.body, limits.jsonInput);
  }
  const { forwardQuery, webhookUrl, maxQueueLength } = splitQuery(src.search);
  const h = src.headers;
  const storeIo = !isFalse(h['x-fal-store-io']);
  return {
    app,
    route,
    endpointId: route === '/' ? `${app.owner}/${app.name}` : `${app.owner}/${app.name}${route}`,
    method: src.method,
    forwardPath: forwardQuery ? `${route}?${forwardQuery}` : route,
    headers: forwardHeaders(h, src.principal),
    body: src.body,
    principal: src.principal,
    priority: h['x-fal-queue-priority'] === 'low' ? 'low' : 'normal',
    noRetry: TRUE_VALUES.has(String(h['x-fal-no-retry'] ?? '').toLowerCase()),
    storeIo,
    timeoutS: app.manifest.request_timeout,
    startTimeoutS: startTimeoutOf(h['x-fal-request-timeout']),
    retryBudgets:
      src.principal?.owner === app.owner ? parseRetryConfig(first(h['x-fal-retry-config'])) : null,
    runnerHint: first(h['x-fal-runner-hint'])?.trim() || null,
    jsonInput: storeIo ? jsonInputOf(h['content-type'], src.body, limits.jsonCap) : null,
    webhookUrl,
    maxQueueLength,
  };
}

/** A request header as one string (repeated values joined with `, `), or null when absent. */
export function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

function routeOf(app: App, rest: string): string {
  const trimmed = rest.endsWith('/') ? rest.slice(0, -1) : rest;
  const route = trimmed === '' ? '/' : `/${trimmed}`;
  const routes = app.manifest.routes.length > 0 ? app.manifest.routes : ['/'];
  if (!routes.includes(route)) {
    if (app.manifest.websocket_routes?.includes(route)) {
      throw new PlatformError(
        'REALTIME_UPGRADE_REQUIRED',
        `Route ${route} of ${app.owner}/${app.name} accepts WebSocket connections only`,
      );
    }
    throw new PlatformError('ROUTE_NOT_FOUND', `App ${app.owner}/${app.name} has no route ${route}`);
  }
  return route;
}

/** The query without fal's own parameters (`fal_*`, never forwarded to the app), and those read. */
function splitQuery(search: string): {
  forwardQuery: string;
  webhookUrl: string | null;
  maxQueueLength: number | null;
} {
  if (search === '' || !search.includes('fal_')) {
    return { forwardQuery: search, webhookUrl: null, maxQueueLength: null };
  }
  const params = new URLSearchParams(search);
  const webhookUrl = params.get('fal_webhook');
  if (webhookUrl !== null) checkWebhookUrl(webhookUrl);
  const maxQueueLength = queueLengthOf(params.get('fal_max_queue_length'));
  for (const name of [...params.keys()]) if (name.startsWith('fal_')) params.delete(name);
  return { forwardQuery: params.toString(), webhookUrl, maxQueueLength };
}

function queueLengthOf(value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new PlatformError('REQUEST_INVALID', 'fal_max_queue_length must be a non-negative integer');
  }
  return n;
}

function checkWebhookUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PlatformError('REQUEST_INVALID', 'fal_webhook must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PlatformError('REQUEST_INVALID', 'fal_webhook must be an absolute http(s) URL');
  }
}

/**
 * The caller's headers as the runner receives them: hop-by-hop and `authorization` dropped, and every
 * `x-fal-*` / `x-app-fal-*` header too (fal reserves them for its gateway: platform controls such as
 * `x-fal-runner-hint` or `x-fal-store-io` are read by the gateway, and a caller cannot spoof an identity
 * header). The caller's identity is added as `x-fal-caller-user-id`; the dispatcher adds
 * `x-fal-request-id` and `x-fal-endpoint`.
 */
export function forwardHeaders(h: IncomingHttpHeaders, principal: Principal | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in h) {
    if (DROPPED_HEADERS.has(name) || name.startsWith('x-fal-') || name.startsWith('x-app-fal-')) continue;
    const v = h[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  if (principal) out[CALLER_USER_ID_HEADER] = principal.owner;
  return out;
}

function isFalse(v: string | string[] | undefined): boolean {
  return v === '0' || v === 'false' || v === 'no';
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** fal's smallest start timeout, in seconds ("> 0.1 seconds"). */
const MIN_START_TIMEOUT_S = 0.1;

/**
 * The caller's `x-fal-request-timeout`: fal's time-to-start deadline in seconds (not a running limit),
 * or null when absent.
 */
function startTimeoutOf(header: string | string[] | undefined): number | null {
  const raw = first(header);
  if (raw === undefined) return null;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= MIN_START_TIMEOUT_S) {
    throw new PlatformError(
      'REQUEST_INVALID',
      'x-fal-request-timeout must be a number of seconds greater than 0.1',
    );
  }
  return value;
}

const EXCESS_MESSAGES = {
  max_depth: (max: number) => `Request input is nested deeper than ${max} levels`,
  max_items: (max: number) => `Request input has more than ${max} object members and array elements`,
  max_string_bytes: (max: number) => `Request input has a string longer than ${max} bytes`,
} as const;

/**
 * Refuses a JSON body too complex to store and serve safely, whether or not it is recorded: measured on
 * its bytes in one pass, before anything parses it.
 */
function assertJsonInput(body: Buffer, limits: JsonInputLimits): void {
  const excess = checkJsonInput(body, limits);
  if (excess) {
    throw new PlatformError('REQUEST_INPUT_TOO_COMPLEX', EXCESS_MESSAGES[excess.limit](excess.max));
  }
}

/** Checks a JSON body and keeps its text for recording; larger than `cap` bytes it becomes a size marker, unparsed. */
export function jsonInputOf(contentType: string | undefined, body: Buffer, cap: number): unknown {
  if (body.length === 0 || !isJsonType(contentType)) return null;
  if (body.length > cap) return { truncated: true, size: body.length };
  const text = body.toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    throw new PlatformError('REQUEST_BAD_JSON');
  }
  return new JsonText(text);
}

/** True for `application/json` and `+json` media types. */
export function isJsonType(contentType: string | undefined): boolean {
  return contentType?.includes('json') === true;
}
