import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHangarClient } from '../client.js';
import { HangarApiError } from '../errors.js';

/** One connection as the fake server saw it. */
interface Seen {
  lastEventId: string | undefined;
  query: URLSearchParams;
  body: string;
}

type Script = (attempt: number, req: IncomingMessage, res: ServerResponse) => void;

let server: Server | null = null;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = null;
});

/** A real HTTP server answering the log stream operation with a scripted behaviour per connection. */
async function sseServer(script: Script): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({
        lastEventId: req.headers['last-event-id'] as string | undefined,
        query: url.searchParams,
        body,
      });
      if (url.pathname !== '/v1/serverless/logs/stream') {
        res.writeHead(404).end();
        return;
      }
      script(seen.length - 1, req, res);
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen };
}

const entry = (n: number) => ({
  timestamp: new Date(1_700_000_000_000 + n).toISOString(),
  level: 'info',
  message: `line ${n}`,
  app: 'echo',
  revision: 'r1',
});
const frame = (n: number) => `id: ${n}\ndata: ${JSON.stringify(entry(n))}\n\n`;
const head = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });

async function collect(url: string, query = {}, max = Number.POSITIVE_INFINITY) {
  const client = createHangarClient({ url, key: 'k:s' });
  const out: string[] = [];
  const ids: (string | null)[] = [];
  for await (const e of client.logs.stream(query, [{ key: 'a', value: 'b' }], { initialDelayMs: 10 })) {
    out.push(e.message);
    ids.push(e.id);
    if (out.length >= max) break;
  }
  return { out, ids };
}

describe('logs.stream reconnects', () => {
  it('resumes after the last delivered event when the connection drops mid-event', async () => {
    const TOTAL = 10;
    const { url, seen } = await sseServer((attempt, req, res) => {
      head(res);
      const from = Number(req.headers['last-event-id'] ?? 0) + 1;
      if (attempt === 0) {
        res.write(': connected\n\n');
        for (let n = from; n <= 4; n++) res.write(frame(n));
        // Half of event 5, then the socket dies: 5 must be delivered once, after the reconnection.
        res.write(frame(5).slice(0, 20));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      for (let n = from; n <= TOTAL; n++) res.write(frame(n));
      res.end();
    });
    const { out, ids } = await collect(url, { end: '2030-01-01T00:00:00Z' });
    expect(out).toEqual(Array.from({ length: TOTAL }, (_, i) => `line ${i + 1}`));
    expect(ids.at(-1)).toBe(String(TOTAL));
    expect(seen.map((s) => s.lastEventId)).toEqual([undefined, '4']);
    expect(seen[0]?.body).toBe('[{"key":"a","value":"b"}]');
  });

  it('reconnects after a clean close of an open-ended stream, and from the connect time before any event', async () => {
    const { url, seen } = await sseServer((attempt, req, res) => {
      head(res);
      if (attempt === 0) return res.end(': bye\n\n');
      const from = Number(req.headers['last-event-id'] ?? 0) + 1;
      res.write(frame(from));
      if (attempt === 1) res.end();
    });
    const { out } = await collect(url, { app_id: 'alice/echo' }, 2);
    expect(out).toEqual(['line 1', 'line 2']);
    expect(seen[0]?.query.get('start')).toBeNull();
    expect(seen[1]?.query.get('start')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(seen[1]?.lastEventId).toBeUndefined();
    expect(seen[2]?.lastEventId).toBe('1');
    expect(seen[2]?.query.get('app_id')).toBe('alice/echo');
  });

  it('ends with the server message on an error event, without reconnecting', async () => {
    const { url, seen } = await sseServer((_attempt, _req, res) => {
      head(res);
      res.write(frame(1));
      const error = { error: { type: 'rate_limited', message: 'Too many concurrent log streams' } };
      res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
    });
    const err = await collect(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HangarApiError);
    expect((err as HangarApiError).message).toBe('Too many concurrent log streams');
    expect((err as HangarApiError).status).toBe(429);
    expect(seen).toHaveLength(1);
  });

  it('treats a server-error event (shutting down) as a drop and resumes after the last event', async () => {
    const { url, seen } = await sseServer((attempt, req, res) => {
      head(res);
      const from = Number(req.headers['last-event-id'] ?? 0) + 1;
      res.write(frame(from));
      if (attempt === 0) {
        const error = {
          error: { type: 'server_error', message: 'Server is shutting down', code: 'SERVER_SHUTTING_DOWN' },
        };
        res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
      } else res.end();
    });
    const { out } = await collect(url, { end: '2030-01-01T00:00:00Z' });
    expect(out).toEqual(['line 1', 'line 2']);
    expect(seen.map((s) => s.lastEventId)).toEqual([undefined, '1']);
  });

  it('does not retry a refused first connection', async () => {
    const { url, seen } = await sseServer((_a, _r, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'authorization_error', message: 'Authentication required' } }));
    });
    const err = await collect(url).catch((e: unknown) => e);
    expect((err as HangarApiError).status).toBe(401);
    expect((err as HangarApiError).message).toBe('Authentication required');
    expect(seen).toHaveLength(1);
  });

  it('gives up after the configured number of failed reconnections', async () => {
    const { url, seen } = await sseServer((attempt, _req, res) => {
      if (attempt === 0) {
        head(res);
        res.write(frame(1));
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      res.writeHead(503).end('down');
    });
    const client = createHangarClient({ url, key: 'k:s' });
    const got: string[] = [];
    const err = await (async () => {
      for await (const e of client.logs.stream({}, [], { initialDelayMs: 1, maxRetries: 3 }))
        got.push(e.message);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['line 1']);
    expect((err as HangarApiError).status).toBe(503);
    expect(seen).toHaveLength(4);
  });
});
