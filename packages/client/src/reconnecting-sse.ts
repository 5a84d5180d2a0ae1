import { HangarApiError } from './errors.js';
import { readSse, type SseEvent, SseParser } from './sse.js';

/** How a dropped event stream is resumed. */
export interface ReconnectOptions {
  /** Consecutive failed attempts before giving up (default 10); reset by every event received. */
  maxRetries?: number;
  /** First delay between attempts in ms (default 250), doubled up to `maxDelayMs` (default 5000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Told before each reconnection attempt. */
  onReconnect?: (info: { attempt: number; lastEventId: string | null; error: unknown }) => void;
}

/** Options of `reconnectingSse`. */
export interface ReconnectingSseOptions extends ReconnectOptions {
  signal?: AbortSignal | undefined;
  /** The server ends the stream on purpose (a finite window): a clean end is final, not a drop. */
  finite?: boolean;
}

/** Opens one connection; `lastEventId` is the id of the last event delivered, null before any. */
export type OpenStream = (lastEventId: string | null, attempt: number) => Promise<ReadableStream<Uint8Array>>;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const STATUS_OF_TYPE: Record<string, number> = {
  authorization_error: 403,
  validation_error: 400,
  not_found: 404,
  rate_limited: 429,
  not_implemented: 501,
};

/** An `event: error` payload (fal's envelope or a bare message) as an error. */
export function streamError(data: string): HangarApiError {
  try {
    const body = JSON.parse(data) as { error?: { type?: string; message?: string; code?: string } };
    if (body.error?.message) {
      const type = body.error.type ?? 'server_error';
      return new HangarApiError(STATUS_OF_TYPE[type] ?? 500, type, body.error.message, body.error.code);
    }
  } catch {
    // a bare message
  }
  return new HangarApiError(500, 'server_error', data || 'stream error');
}

/** Whether a failure is worth another attempt: the network, or the server being briefly unwell. */
function retryable(err: unknown): boolean {
  if (!(err instanceof HangarApiError)) return true;
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

/**
 * Yields the events of an SSE stream across dropped connections: each reconnection sends the id of the
 * last event delivered, so the server resumes after it and no event is lost or repeated. An
 * `event: error` of a server error (shutting down, a slow reader dropped) is a drop too; any other ends
 * the stream with that error. The first connection is not retried, so a wrong URL or key fails at once.
 */
export async function* reconnectingSse(
  open: OpenStream,
  opts: ReconnectingSseOptions = {},
): AsyncGenerator<SseEvent> {
  const maxRetries = opts.maxRetries ?? 10;
  const maxDelay = opts.maxDelayMs ?? 5000;
  let delay = opts.initialDelayMs ?? 250;
  let lastId: string | null = null;
  let failures = 0;
  let attempt = 0;
  let connected = false;
  let serverDelay: number | null = null;
  for (;;) {
    let error: unknown = null;
    let fatal: HangarApiError | null = null;
    try {
      const body = await open(lastId, attempt);
      connected = true;
      const parser = new SseParser();
      for await (const ev of readSse(body, parser)) {
        serverDelay = parser.retryMs ?? serverDelay;
        if (ev.event === 'error') {
          // A server-side condition (shutting down, a slow reader dropped) ends this connection only.
          const err = streamError(ev.data);
          if (err.status >= 500) error = err;
          else fatal = err;
          break;
        }
        failures = 0;
        delay = opts.initialDelayMs ?? 250;
        if (ev.id !== null) lastId = ev.id;
        yield ev;
      }
      if (!fatal && !error && opts.finite) return;
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (!connected || !retryable(err)) throw err;
      error = err;
    }
    if (fatal) throw fatal;
    if (opts.signal?.aborted) return;
    failures++;
    if (failures > maxRetries)
      throw error ?? new HangarApiError(0, 'connection_error', 'event stream kept closing');
    attempt++;
    opts.onReconnect?.({ attempt, lastEventId: lastId, error });
    await sleep(serverDelay ?? delay, opts.signal);
    delay = Math.min(delay * 2, maxDelay);
    if (opts.signal?.aborted) return;
  }
}
