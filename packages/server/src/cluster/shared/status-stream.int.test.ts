// Two gateways over one store (as two nodes over one database) and one fan-out: a status stream opened on
// the node that did not accept a request follows it, through the real route, to COMPLETED.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoApp, InlineDispatcher, startEchoApp } from '../../gateway/test-kit.js';
import { createTestKey, putTestApp, startTestServer, type TestServer } from '../../gateway/test-server.js';
import { createLogBus } from '../../runners/log-bus.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import { createMemoryFanout } from './memory-fanout.js';
import { createRequestStatusFeed } from './status-feed.js';

let dir: string;
let stores: Stores & { close(): Promise<void> };
let echo: EchoApp;
const dispatchers: InlineDispatcher[] = [];
const nodes: TestServer[] = [];
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-status-feed-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  echo = await startEchoApp();
  // One log bus and one fan-out stand for the cluster's (Redis-backed in production, proven apart).
  const logBus = createLogBus();
  const fanout = createMemoryFanout();
  for (let i = 0; i < 2; i++) {
    const dispatcher = new InlineDispatcher(echo.url, { concurrency: 1, logBus, logs: stores.logs });
    dispatcher.pause();
    dispatchers.push(dispatcher);
    const statusFeed = createRequestStatusFeed({ fanout, logBus });
    nodes.push(await startTestServer({ stores, dispatcher, logBus, statusFeed }));
  }
  key = await createTestKey(stores.keys, 'alice');
  await putTestApp(stores.apps, 'alice', 'echo', { auth_mode: 'private', request_timeout: 60 });
});

afterAll(async () => {
  for (const n of nodes) await n.close();
  for (const d of dispatchers) await d.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('status stream on another node', () => {
  it('follows a request accepted and run by node a, on node b, to COMPLETED with its logs', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const auth = { authorization: `Key ${key}` };
    const submitted = await fetch(`${a.url}/queue/alice/echo`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'b' }),
    });
    expect(submitted.status).toBe(200);
    const { request_id: id } = (await submitted.json()) as { request_id: string };

    const res = await fetch(`${b.url}/queue/alice/echo/requests/${id}/status/stream?logs=1`, {
      headers: auth,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const first = await reader.read();
    text += decoder.decode(first.value);
    expect(text).toContain('"status":"IN_QUEUE"');

    dispatchers[0]!.resume();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const events = text
      .split('\n\n')
      .filter((e) => e.includes('data: '))
      .map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)) as { status: string; logs?: unknown[] });
    const statuses = events.map((e) => e.status);
    expect(statuses[0]).toBe('IN_QUEUE');
    expect(statuses.at(-1)).toBe('COMPLETED');
    expect(statuses).toContain('IN_PROGRESS');
    expect(JSON.stringify(events)).toContain(`processing ${id}`);
    // Events that came through the fan-out carry an id a client can resume from on any node.
    expect(text).toMatch(/^id: \d+-\d+$/m);
  });
});
