import { request } from 'node:http';
import type { LogLine } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../http/app.js';
import { falViolations } from '../apps/testing/fal-oracle.test-helper.js';
import { addKey, fullLine, openTestDb, type TestDb, testApp } from '../apps/testing/harness.test-helper.js';
import { logEvents, openSse, type SseConnection } from '../apps/testing/sse-client.test-helper.js';
import { lineToEntry, sseFrame } from './entry.js';
import { registerLogsRoutes } from './routes.js';
import { describeOnLogEngines, type LogEngine } from './stream-engines.test-helper.js';

// Real sockets, real log stores and real log buses: lines are appended and published exactly as the
// runner supervisor does, on SQLite with the in-process bus, and on PostgreSQL + Redis by one node while
// another serves the streams.

let t: TestDb;
let engine: LogEngine;
let app: HttpApp;
let base: string;
let alice: { auth: string };
let bob: { auth: string };
const T0 = Date.now() - 60_000;
let seq = 0;

function emit(lines: Partial<LogLine>[]): LogLine[] {
  const full = lines.map((l) => fullLine({ ts: Date.now(), message: `line ${seq++}`, ...l }));
  engine.stores.logs.append(full);
  engine.sinkBus.publish(full);
  return full;
}

describeOnLogEngines('logs stream', (kind) => {
  beforeAll(async () => {
    t = openTestDb();
    engine = await kind.open(t.path, 3);
    alice = addKey(t.db, 'alice');
    bob = addKey(t.db, 'bob');
    app = testApp(t.db);
    registerLogsRoutes(app, {
      reads: engine.reads,
      bus: engine.bus,
      flushLogs: () => engine.flushLogs(),
      streams: engine.streams,
      pingMs: 50,
      maxBufferedBytes: 64 * 1024,
      // Long enough for a dropped test client to resume and read its error event.
      dropGraceMs: 60_000,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/v1/serverless/logs/stream`;
  });
  afterAll(async () => {
    await app.close();
    await engine.close();
    t.close();
  });

  const open = (query: string, auth: string, extra: Record<string, string> = {}, body?: unknown) =>
    openSse(`${base}?${query}`, { authorization: auth, ...extra }, body);

  /** A stream read as raw body text (chunked encoding removed), to compare bytes across clients. */
  function openRaw(
    query: string,
    auth: string,
    body: unknown,
  ): Promise<{ text: () => string; close: () => void }> {
    return new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = request(`${base}?${query}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        resolve({ text: () => text, close: () => req.destroy() });
      });
      req.end(payload);
    });
  }

  describe('POST /v1/serverless/logs/stream', () => {
    it('backfills from start, then follows live, in SSE framing', async () => {
      const old = emit([
        { ts: T0, message: 'before' },
        { ts: T0 + 1, message: 'also before' },
      ]);
      await engine.stores.flush();
      const s = await open(`start=${new Date(T0).toISOString()}`, alice.auth);
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('text/event-stream');
      expect(s.headers['x-accel-buffering']).toBe('no');
      expect(
        falViolations('serverlessLogsStream', { statusCode: 200, headers: s.headers, body: '' }),
      ).toEqual([]);
      await s.until((ev) => logEvents(ev).length >= 2);
      const live = emit([{ message: 'live one' }]);
      await s.until((ev) => logEvents(ev).some((e) => e.message === 'live one'));
      const got = logEvents(s.events);
      expect(got.map((e) => e.message)).toEqual(['before', 'also before', 'live one']);
      expect(got.map((e) => e.id)).toEqual([old[0]!.id, old[1]!.id, live[0]!.id]);
      await s.until((ev) => ev.some((e) => e.comment === 'ping'));
      s.close();
    });

    it('applies every filter to live lines and never shows another owner', async () => {
      const s = await open('level=warn&app_id=alice/echo', alice.auth, {}, [{ key: 'zone', value: 'eu' }]);
      const b = await open('', bob.auth);
      await s.until((ev) => ev.some((e) => e.comment === 'connected'));
      await b.until((ev) => ev.some((e) => e.comment === 'connected'));
      emit([
        { level: 'info', labels: { zone: 'eu' }, message: 'too low' },
        { level: 'error', app: 'other', labels: { zone: 'eu' }, message: 'other app' },
        { level: 'error', labels: { zone: 'us' }, message: 'wrong zone' },
        { level: 'warn', labels: { zone: 'eu' }, message: 'match' },
        { owner: 'bob', level: 'error', labels: { zone: 'eu' }, message: 'bob only' },
      ]);
      await s.until((ev) => logEvents(ev).length >= 1);
      await b.until((ev) => logEvents(ev).length >= 1);
      expect(logEvents(s.events).map((e) => e.message)).toEqual(['match']);
      expect(logEvents(b.events).map((e) => e.message)).toEqual(['bob only']);
      s.close();
      b.close();
      const denied = await app.inject({
        method: 'POST',
        url: '/v1/serverless/logs/stream?app_id=alice/echo',
        headers: { authorization: bob.auth },
      });
      expect(denied.statusCode).toBe(403);
    });

    it('resumes after Last-Event-ID without gaps or repeats', async () => {
      const first = await open('', alice.auth);
      await first.until((ev) => ev.some((e) => e.comment === 'connected'));
      emit([{ message: 'r1' }, { message: 'r2' }]);
      await first.until((ev) => logEvents(ev).length >= 2);
      const lastId = logEvents(first.events).at(-1)!.id;
      first.close();
      emit([{ message: 'r3' }, { message: 'r4' }]);
      const again = await open('', alice.auth, { 'last-event-id': String(lastId) });
      await again.until((ev) => logEvents(ev).length >= 2);
      emit([{ message: 'r5' }]);
      await again.until((ev) => logEvents(ev).some((e) => e.message === 'r5'));
      expect(logEvents(again.events).map((e) => e.message)).toEqual(['r3', 'r4', 'r5']);
      again.close();
    });

    it('loses nothing when a client joins while lines are being written', async () => {
      const start = new Date(Date.now() - 1).toISOString();
      const written: LogLine[] = [];
      let writing = true;
      const writer = (async () => {
        while (writing) {
          const labels = { source: 'stdout', batch: 'w' };
          written.push(
            ...emit([
              { message: 'w', labels },
              { message: 'w', labels },
            ]),
          );
          await new Promise((r) => setImmediate(r));
        }
      })();
      await new Promise((r) => setTimeout(r, 30));
      const clients: SseConnection[] = [];
      for (let i = 0; i < 3; i++) {
        clients.push(await open(`start=${start}`, alice.auth, {}, [{ key: 'batch', value: 'w' }]));
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 30));
      writing = false;
      await writer;
      // On PostgreSQL a line has its id once its batch committed.
      await engine.stores.flush();
      const ids = written.map((l) => l.id);
      for (const c of clients) {
        await c
          .until((ev) => logEvents(ev).at(-1)?.id === ids.at(-1))
          .catch((e) => {
            throw new Error(
              `${e.message}: ${JSON.stringify(c.events.filter((x) => x.data === undefined || x.event))}`,
            );
          });
        expect(logEvents(c.events).map((e) => e.id)).toEqual(ids);
        c.close();
      }
    });

    it('sends byte-identical frames to every stream with the same filter', async () => {
      const eu = [{ key: 'zone', value: 'eu' }];
      const clients = [
        await openRaw('level=info', alice.auth, eu),
        await openRaw('level=info', alice.auth, eu),
        await openRaw('level=info', alice.auth, [{ key: 'zone', value: 'us' }]),
      ];
      const connected = () => clients.every((c) => c.text().includes(': connected\n\n'));
      for (let i = 0; i < 100 && !connected(); i++) await new Promise((r) => setTimeout(r, 10));
      const lines: LogLine[] = [];
      for (let round = 0; round < 5; round++) {
        lines.push(
          ...emit([
            { level: 'info', labels: { zone: 'eu' }, message: `shared ${round} "quoted" é` },
            { level: 'debug', labels: { zone: 'eu' }, message: 'too low' },
            { level: 'error', labels: { zone: 'us' }, message: `us ${round}` },
          ]),
        );
        await new Promise((r) => setImmediate(r));
      }
      const expected = (zone: string) =>
        lines
          .filter((l) => l.labels.zone === zone && l.level !== 'debug')
          .map((l) => sseFrame(l.id, lineToEntry(l)))
          .join('');
      const body = (c: { text: () => string }) =>
        c.text().replace(': connected\n\n', '').replaceAll(': ping\n\n', '');
      for (let i = 0; i < 200 && body(clients[0]!).length < expected('eu').length; i++)
        await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 200 && body(clients[2]!).length < expected('us').length; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(body(clients[0]!)).toBe(expected('eu'));
      expect(body(clients[1]!)).toBe(body(clients[0]!));
      expect(body(clients[2]!)).toBe(expected('us'));
      for (const c of clients) c.close();
    });

    it('caps concurrent streams per key with a 429 before the stream starts (fal)', async () => {
      const held = [await open('', bob.auth), await open('', bob.auth), await open('', bob.auth)];
      await Promise.all(held.map((h) => h.until((ev) => ev.some((e) => e.comment === 'connected'))));
      const over = await fetch(base, { method: 'POST', headers: { authorization: bob.auth } });
      expect(over.status).toBe(429);
      expect(over.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await over.text();
      expect(JSON.parse(text).error).toMatchObject({ type: 'rate_limited', code: 'LOGS_STREAM_LIMIT' });
      const headers = { 'content-type': over.headers.get('content-type') ?? '' };
      expect(falViolations('serverlessLogsStream', { statusCode: 429, headers, body: text })).toEqual([]);
      held[0]!.close();
      await held[0]!.ended;
      // The slot frees once the server sees the disconnect.
      let next: SseConnection | null = null;
      for (let i = 0; i < 50 && !next?.events.some((e) => e.comment === 'connected'); i++) {
        next?.close();
        next = await open('', bob.auth);
        await next.until((ev) => ev.length > 0).catch(() => {});
      }
      expect(next!.events.some((e) => e.comment === 'connected')).toBe(true);
      for (const h of [...held, next!]) h.close();
    });

    it('closes at end after sending what lies before it', async () => {
      const end = new Date(Date.now() + 200).toISOString();
      const s = await open(`end=${end}&start=${new Date(T0).toISOString()}&search=before`, alice.auth);
      await s.ended;
      expect(logEvents(s.events).map((e) => e.message)).toEqual(['before', 'also before']);
      const past = await open(
        `end=${new Date(T0 + 1).toISOString()}&start=${new Date(T0).toISOString()}`,
        alice.auth,
      );
      await past.ended;
      expect(logEvents(past.events).map((e) => e.message)).toEqual(['before']);
    });

    it('drops a client that stops reading with an error event, while the others keep receiving', async () => {
      const s = await open('', alice.auth);
      const fast = await open('', alice.auth);
      await s.until((ev) => ev.some((e) => e.comment === 'connected'));
      await fast.until((ev) => ev.some((e) => e.comment === 'connected'));
      s.pause();
      const big = 'x'.repeat(4000);
      let sent = 0;
      for (let i = 0; i < 2000; i++) {
        // Published only (not stored): this is about the live path, and 80 MB of inserts would be slow.
        const lines = Array.from({ length: 10 }, () =>
          fullLine({ ts: Date.now(), message: big, id: 1e9 + sent++ }),
        );
        engine.nodeBus.publish(lines);
        // The reading client keeps up (40 KB a round stays under its 64 KiB cap).
        const last = String(lines.at(-1)!.id);
        await fast.until((ev) => ev.findLast((e) => e.id !== undefined)?.id === last);
      }
      expect(fast.events.some((e) => e.event === 'error')).toBe(false);
      expect(fast.events.filter((e) => e.data !== undefined).length).toBe(sent);
      fast.close();
      s.resume();
      await s.ended;
      // The server stopped writing long before the end: far fewer lines arrived than were published.
      expect(logEvents(s.events).length).toBeLessThan(sent / 2);
      const err = s.events.find((e) => e.event === 'error');
      expect(JSON.parse(err!.data!).error).toMatchObject({ code: 'LOGS_STREAM_SLOW' });
    });
  });
});
