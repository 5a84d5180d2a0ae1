import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoApp, InlineDispatcher, startEchoApp } from '../gateway/test-kit.js';
import { createTestKey, putTestApp, startTestServer, type TestServer } from '../gateway/test-server.js';
import { createLogBus } from '../runners/log-bus.js';
import { createSqliteStores } from '../store/sqlite/index.js';

// What fetch cannot send: raw bytes over a socket, to the HTTP app with the gateway and its fast lane.

let dir: string;
let stores: Stores;
let echo: EchoApp;
let dispatcher: InlineDispatcher;
let server: TestServer;
let port: number;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-framework-errors-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 1, logBus, logs: stores.logs });
  server = await startTestServer({ stores, dispatcher, logBus });
  port = Number(new URL(server.url).port);
  key = await createTestKey(stores.keys, 'alice');
  await putTestApp(stores.apps, 'alice', 'echo');
});

afterAll(async () => {
  await server.close();
  await dispatcher.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (the client never did). */
  closedByServer: boolean;
}

/** Writes `bytes`, reads until the server closes the socket (or 2 s pass), and parses the answer. */
function raw(bytes: Buffer | string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, 2_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(statusLine.split(' ')[1]);
      resolve({ status, headers, body: text.slice(split + 4), closedByServer });
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

const request = (head: string, tail = '\r\n') => `${head}\r\nHost: 127.0.0.1\r\n${tail}`;

const cases: [string, () => Buffer | string, number, string][] = [
  [
    'a NUL byte in a header value',
    () => request('GET /v1/x HTTP/1.1', 'X-A: a\0b\r\n\r\n'),
    400,
    'REQUEST_MALFORMED',
  ],
  [
    'a NUL byte in a header value of a gateway call with a key',
    () => request('POST /run/alice/echo HTTP/1.1', `Authorization: Key ${key}\r\nX-A: \0\r\n\r\n`),
    400,
    'REQUEST_MALFORMED',
  ],
  [
    'a NUL byte in a header name',
    () => request('GET /run/alice/echo HTTP/1.1', 'X\0A: b\r\n\r\n'),
    400,
    'REQUEST_MALFORMED',
  ],
  [
    'raw non-UTF-8 bytes in the URL',
    () =>
      Buffer.concat([
        Buffer.from('GET /run/alice/'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    400,
    'REQUEST_MALFORMED',
  ],
  [
    'percent-encoded non-UTF-8 bytes in the path',
    () => request('GET /run/alice/%ff%fe HTTP/1.1', 'Connection: close\r\n\r\n'),
    400,
    'REQUEST_INVALID',
  ],
  [
    'headers over 16 KiB',
    () => request('GET /run/alice/echo HTTP/1.1', `X-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    431,
    'REQUEST_HEADERS_TOO_LARGE',
  ],
  [
    'a URL over 16 KiB',
    () => request(`GET /run/alice/${'a'.repeat(20_000)} HTTP/1.1`),
    431,
    'REQUEST_HEADERS_TOO_LARGE',
  ],
  ['an unknown method token', () => request('G@T /run/alice/echo HTTP/1.1'), 400, 'REQUEST_MALFORMED'],
  ['an unknown HTTP version', () => request('GET /run/alice/echo HTTP/9.9'), 400, 'REQUEST_MALFORMED'],
  [
    'both Content-Length and Transfer-Encoding',
    () =>
      request(
        'POST /run/alice/echo HTTP/1.1',
        'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    400,
    'REQUEST_MALFORMED',
  ],
  [
    'a bad chunk size',
    () =>
      request(
        'POST /run/alice/echo HTTP/1.1',
        'Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n',
      ),
    400,
    'REQUEST_MALFORMED',
  ],
  [
    'an HTTP/1.1 request without Host',
    () => 'GET /run/alice/echo HTTP/1.1\r\n\r\n',
    400,
    'REQUEST_MALFORMED',
  ],
];

describe('errors below the routes', () => {
  it.each(cases)(
    "answers %s in fal's envelope, closing the connection when the parser failed",
    async (_name, bytes, status, code) => {
      const answer = await raw(bytes());
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
      const body = JSON.parse(answer.body) as { error: Record<string, unknown> };
      expect(body).toEqual({
        error: { type: 'validation_error', code, message: expect.any(String) },
      });
      if (code !== 'REQUEST_INVALID') {
        expect(answer.headers['connection']).toBe('close');
        expect(answer.closedByServer).toBe(true);
      }
    },
  );

  it('still serves a well-formed request on the same kind of connection', async () => {
    const answer = await raw(
      request('GET /run/alice/nope HTTP/1.1', `Authorization: Key ${key}\r\nConnection: close\r\n\r\n`),
    );
    expect(answer.status).toBe(404);
    // A gateway route: fal's gateway shape, not the envelope of the errors the parser raises above.
    expect(JSON.parse(answer.body)).toEqual({ detail: 'App alice/nope not found', error_type: 'not_found' });
    expect(answer.headers['x-hangar-error-code']).toBe('APP_NOT_FOUND');
  });
});
