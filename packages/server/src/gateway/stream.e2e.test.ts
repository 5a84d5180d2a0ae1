import { request as httpRequest, type IncomingMessage } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFalClient } from '@fal-ai/client';
import type { RequestRecord, Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayStack, openGatewayStack } from './e2e-stack.test-helper.js';
import { createTestKey } from './test-server.js';

// Streaming pass-through with a real runner process (examples/stream-node) over real sockets. Ordering is
// asserted against the app's own clock: each event carries `at`, when the app wrote it, and the first
// event must reach the caller before the app wrote its last one.

const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/stream-node');
const JSON_CAP = 16 * 1024;

let stack: GatewayStack;
let stores: Stores;
let base: string;
let key: string;
/** Answers sent through Fastify's routes (the fast lane's never are). */
let routed = 0;

beforeAll(async () => {
  stack = await openGatewayStack({
    prefix: 'hangar-stream-e2e-',
    jsonCap: JSON_CAP,
    // Hijacked (streamed) answers skip onSend, so count routed requests as they arrive.
    register: ({ http }) => {
      http.addHook('onRequest', (_req, _reply, done) => {
        routed++;
        done();
      });
    },
  });
  ({ stores, base } = stack);
  key = await createTestKey(stores.keys, 'alice');
  await stack.deployDir('alice', APP_DIR);
});

afterAll(async () => {
  // fetch keeps connections open (one may be fresh and unused, which `close` waits out): end them.
  stack?.http.server.closeAllConnections();
  await stack?.close();
});

interface Event {
  i: number;
  /** When the app wrote it (epoch ms). */
  at: number;
}

interface Received {
  event: Event;
  /** When the caller read it (epoch ms, same machine clock). */
  receivedAt: number;
}

/** Events of an SSE body as they arrive. */
function readEvents(res: IncomingMessage, onEvent: (r: Received) => void): Promise<void> {
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (text: string) => {
    buffered += text;
    let end = buffered.indexOf('\n\n');
    while (end !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data !== '') onEvent({ event: JSON.parse(data) as Event, receivedAt: Date.now() });
      end = buffered.indexOf('\n\n');
    }
  });
  return new Promise((resolve, reject) => {
    res.on('end', resolve);
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

/** POSTs `input` to a gateway path; `chunked` sends the body without a length (Fastify then serves it). */
function post(path: string, input: unknown, chunked = false): Promise<IncomingMessage> {
  const body = JSON.stringify(input);
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Key ${key}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) }),
      },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function completedRecord(requestId: string): Promise<RequestRecord> {
  await expect
    .poll(async () => (await stores.requests.get(requestId))?.status, { timeout: 10_000 })
    .toBe('COMPLETED');
  return (await stores.requests.get(requestId))!;
}

function expectStreamedAsWritten(received: Received[], count: number): void {
  expect(received.map((r) => r.event.i)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  // The first event reached the caller before the app had even written its last one.
  expect(received[0]!.receivedAt).toBeLessThan(received.at(-1)!.event.at);
}

describe('POST /run/{owner}/{app}/{route} with a streaming runner', () => {
  it.each([
    ['the fast lane', false],
    ['the Fastify routes', true],
  ])('passes events through as the app writes them, via %s', async (_name, chunked) => {
    // The key is verified once by the routes; only then may the lane serve it.
    await (await post('/run/alice/streamer/stream', { events: 1, interval_ms: 0 }, true)).resume();
    const before = routed;
    const res = await post('/run/alice/streamer/stream', { events: 5, interval_ms: 300 }, chunked);
    expect(routed !== before).toBe(chunked);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.headers['cache-control']).toBe('no-cache');
    const requestId = String(res.headers['x-fal-request-id']);
    const received: Received[] = [];
    await readEvents(res, (r) => received.push(r));
    expectStreamedAsWritten(received, 5);

    const rec = await completedRecord(requestId);
    expect(rec).toMatchObject({
      statusCode: 200,
      cancelled: false,
      errorClass: null,
      attempts: 1,
      mode: 'sync',
    });
    expect(rec.durationMs).toBeGreaterThanOrEqual(received.at(-1)!.event.at - received[0]!.event.at);
    expect(rec.billableUnits).toBeCloseTo(rec.durationMs! / 1000, 6);
    expect((rec.jsonOutput as Event[]).map((e) => e.i)).toEqual([1, 2, 3, 4, 5]);
    await stores.flush();
    const logs = await stores.logs.listByRequest(requestId);
    expect(logs.map((l) => l.message)).toContain('streaming 5 events');
  });

  it('streams a body without content-length (ndjson) and bills from the trailer', async () => {
    const res = await post('/run/alice/streamer', {
      events: 3,
      interval_ms: 200,
      format: 'ndjson',
      units: 7,
    });
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const lines: Received[] = [];
    res.setEncoding('utf8');
    let rest = '';
    for await (const text of res) {
      rest += text as string;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const p of parts) lines.push({ event: JSON.parse(p) as Event, receivedAt: Date.now() });
    }
    expectStreamedAsWritten(lines, 3);
    const rec = await completedRecord(String(res.headers['x-fal-request-id']));
    expect(rec.billableUnits).toBe(7);
    // Not JSON as a whole, not an event stream: nothing is stored.
    expect(rec.jsonOutput).toBeNull();
  });

  it('records a stream larger than the payload cap as truncated', async () => {
    const res = await post('/run/alice/streamer/stream', { events: 40, interval_ms: 0, pad: 1000 });
    let size = 0;
    for await (const chunk of res) size += (chunk as Buffer).length;
    const rec = await completedRecord(String(res.headers['x-fal-request-id']));
    expect(size).toBeGreaterThan(JSON_CAP);
    expect(rec).toMatchObject({ statusCode: 200, jsonOutput: { truncated: true, size } });
  });

  it('a caller that disconnects mid-stream cancels the request and closes the runner connection', async () => {
    const res = await post('/run/alice/streamer/stream', { events: 100, interval_ms: 100 });
    const requestId = String(res.headers['x-fal-request-id']);
    await new Promise<void>((resolve) => {
      res.once('data', () => resolve());
    });
    res.destroy();
    const rec = await completedRecord(requestId);
    expect(rec).toMatchObject({ cancelled: true, statusCode: 499, errorClass: null, attempts: 1 });
    // The app saw its own connection close before it had written everything.
    await expect
      .poll(
        async () => {
          await stores.flush();
          const logs = await stores.logs.listByRequest(requestId);
          return logs.map((l) => l.message).find((m) => m.startsWith('stream closed by caller'));
        },
        { timeout: 10_000 },
      )
      .toMatch(/^stream closed by caller after \d+ events$/);
  });

  it('a runner failing mid-stream is not retried: the caller sees the stream break', async () => {
    const res = await post('/run/alice/streamer/stream', { events: 5, interval_ms: 50, break_after: 2 });
    const received: Received[] = [];
    await expect(readEvents(res, (r) => received.push(r))).rejects.toThrow();
    expect(received.map((r) => r.event.i)).toEqual([1, 2]);
    const rec = await completedRecord(String(res.headers['x-fal-request-id']));
    expect(rec).toMatchObject({ attempts: 1, errorClass: 'connection', cancelled: false });
  });
});

type Client = ReturnType<typeof createFalClient>;

describe.each([
  [
    'requestMiddleware',
    () =>
      createFalClient({
        credentials: key,
        requestMiddleware: async (req) => ({
          ...req,
          url: req.url.replace(/^https:\/\/fal\.run\//, `${base}/run/`),
        }),
      }),
  ],
  [
    'proxyUrl',
    () => createFalClient({ credentials: key, proxyUrl: { url: `${base}/fal/proxy`, when: 'always' } }),
  ],
])('fal.stream via %s', (_name, make: () => Client) => {
  it('delivers the first event before the runner finishes', async () => {
    const client = make();
    const stream = await client.stream('alice/streamer', { input: { events: 5, interval_ms: 300 } });
    const received: Received[] = [];
    stream.on('data', (event) => received.push({ event: event as Event, receivedAt: Date.now() }));
    const last = (await stream.done()) as Event;
    expect(last.i).toBe(5);
    expectStreamedAsWritten(received, 5);
    const rec = await completedRecord(stream.requestId!);
    expect(rec).toMatchObject({ endpointId: 'alice/streamer/stream', statusCode: 200, cancelled: false });
  });

  it('abort() cancels the runner request', async () => {
    const client = make();
    const stream = await client.stream('alice/streamer', { input: { events: 100, interval_ms: 100 } });
    await new Promise<void>((resolve) => stream.on('data', () => resolve()));
    const requestId = stream.requestId!;
    stream.abort();
    const rec = await completedRecord(requestId);
    expect(rec).toMatchObject({ cancelled: true, statusCode: 499 });
  });
});
