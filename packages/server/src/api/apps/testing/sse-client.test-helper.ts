import { type IncomingMessage, request } from 'node:http';

/** One parsed SSE event (comments are kept as events with `comment`). */
export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A live SSE connection over a real socket. */
export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  events: SseEvent[];
  /** Resolves once the server has ended the response (or the socket closed). */
  ended: Promise<void>;
  /** Resolves when `pred` holds for the events so far; rejects after `ms`. */
  until(pred: (events: SseEvent[]) => boolean, ms?: number): Promise<SseEvent[]>;
  /** Stops reading from the socket (to play a slow client). */
  pause(): void;
  resume(): void;
  close(): void;
}

/** POSTs to an SSE endpoint and parses events as they arrive. */
export function openSse(
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        ...headers,
        ...(payload ? { 'content-type': 'application/json' } : {}),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let buf = '';
      let endedResolve!: () => void;
      const ended = new Promise<void>((r) => {
        endedResolve = r;
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          events.push(parseEvent(buf.slice(0, i)));
          buf = buf.slice(i + 2);
          i = buf.indexOf('\n\n');
        }
        for (const w of waiters) w();
      });
      const finish = () => {
        endedResolve();
        for (const w of waiters) w();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      let done = false;
      ended.then(() => {
        done = true;
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        ended,
        until(pred, ms = 10_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (pred(events)) {
                cleanup();
                ok(events);
              } else if (done) {
                cleanup();
                fail(new Error(`stream ended before the condition held (${events.length} events)`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`condition not met within ${ms} ms (${events.length} events)`));
            }, ms);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        pause: () => res.pause(),
        resume: () => res.resume(),
        close: () => req.destroy(),
      });
    });
    req.end(payload);
  });
}

function parseEvent(block: string): SseEvent {
  const e: SseEvent = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) e.comment = line.slice(1).trim();
    else {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id' || field === 'event') e[field] = value;
      else if (field === 'data') e.data = e.data === undefined ? value : `${e.data}\n${value}`;
    }
  }
  return e;
}

/** The data events of a list, parsed as log entries with their ids. */
export function logEvents(events: SseEvent[]): { id: number; message: string; level: string }[] {
  return events
    .filter((e) => e.data !== undefined && e.event === undefined)
    .map((e) => ({ id: Number(e.id), ...(JSON.parse(e.data!) as { message: string; level: string }) }));
}
