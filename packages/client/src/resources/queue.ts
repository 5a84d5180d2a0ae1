import { errorFromResponse, HangarApiError } from '../errors.js';
import type { HttpTransport } from '../http.js';
import { encodePath } from '../paging.js';
import { readSse } from '../sse.js';
import type { QueueStatus } from '../types.js';

/** An app's answer with the request id the gateway gave it. */
export interface RunResult<T> {
  data: T;
  requestId: string | null;
}

/** Options of a call through the gateway. */
export interface CallOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Options of a queue submission. */
export interface SubmitOptions extends CallOptions {
  /** URL the platform POSTs the result to when the request completes. */
  webhookUrl?: string;
}

/** The answer of a cancel: `CANCELLATION_REQUESTED`, or `ALREADY_COMPLETED` for a finished request. */
export interface CancelResult {
  status: string;
}

/** `owner/app` of an endpoint id: fal's status, result and cancel URLs carry no route segment. */
export function appIdOf(endpointId: string): string {
  const parts = endpointId.replace(/^\/+/, '').split('/');
  if (parts.length < 2 || !parts[0] || !parts[1]) {
    throw new HangarApiError(400, 'validation_error', `Expected OWNER/APP[/ROUTE], got "${endpointId}"`);
  }
  return `${parts[0]}/${parts[1]}`;
}

function requestPath(endpointId: string, requestId: string, op = ''): string {
  return `/queue/${encodePath(appIdOf(endpointId))}/requests/${encodeURIComponent(requestId)}${op}`;
}

async function parseBody<T>(res: Response): Promise<RunResult<T>> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const data = (type.includes('json') && text ? JSON.parse(text) : text) as T;
  return { data, requestId: res.headers.get('x-fal-request-id') };
}

/** The fal Queue API and synchronous runs, as served by the gateway under `/queue` and `/run`. */
export function createQueue(http: HttpTransport) {
  return {
    /** Calls an endpoint synchronously and returns its answer. */
    async run<T = unknown>(
      endpointId: string,
      input: unknown,
      opts: CallOptions = {},
    ): Promise<RunResult<T>> {
      const res = await http.raw('POST', `/run/${encodePath(endpointId)}`, { body: input ?? {}, ...opts });
      return parseBody<T>(res);
    },

    /** Puts a request in the queue; the answer carries its id and queue position. */
    submit: (endpointId: string, input: unknown, opts: SubmitOptions = {}) =>
      http.json<QueueStatus>('POST', `/queue/${encodePath(endpointId)}`, {
        body: input ?? {},
        query: { fal_webhook: opts.webhookUrl },
        headers: opts.headers,
        signal: opts.signal,
      }),

    /** The current status of a queued request (with its logs so far when `logs` is set). */
    status: (endpointId: string, requestId: string, opts: { logs?: boolean } = {}) =>
      http.json<QueueStatus>('GET', requestPath(endpointId, requestId, '/status'), {
        query: { logs: opts.logs ? 1 : 0 },
      }),

    /** Streams status changes until COMPLETED; with `logs`, each event carries only its new log lines. */
    async *streamStatus(
      endpointId: string,
      requestId: string,
      opts: { logs?: boolean; signal?: AbortSignal } = {},
    ): AsyncGenerator<QueueStatus> {
      const res = await http.raw('GET', requestPath(endpointId, requestId, '/status/stream'), {
        query: { logs: opts.logs ? 1 : 0 },
        headers: { accept: 'text/event-stream' },
        signal: opts.signal,
      });
      if (!res.body) return;
      for await (const ev of readSse(res.body)) {
        if (ev.event === 'error') throw new HangarApiError(500, 'server_error', ev.data);
        if (ev.data === '') continue;
        const status = JSON.parse(ev.data) as QueueStatus;
        yield status;
        if (status.status === 'COMPLETED') return;
      }
    },

    /** The app's answer to a completed request (an app error is thrown with the app's status). */
    async result<T = unknown>(
      endpointId: string,
      requestId: string,
      opts: CallOptions = {},
    ): Promise<RunResult<T>> {
      return parseBody<T>(await http.raw('GET', requestPath(endpointId, requestId), opts));
    },

    /** Asks to cancel a request: queued ones are removed, running ones are signalled. */
    async cancel(endpointId: string, requestId: string): Promise<CancelResult> {
      const res = await http.raw('PUT', requestPath(endpointId, requestId, '/cancel'), {
        allowStatus: [400],
      });
      const text = await res.text();
      let body: Partial<CancelResult> = {};
      try {
        body = JSON.parse(text) as Partial<CancelResult>;
      } catch {
        // not JSON: reported below with the status line
      }
      if (typeof body.status !== 'string') throw errorFromResponse(res.status, text);
      return { status: body.status };
    },
  };
}

/** The queue client. */
export type QueueApi = ReturnType<typeof createQueue>;
