import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher, DispatchRequest, DispatchResult, Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogBus } from '../runners/log-bus.js';
import { createSqliteStores, openReadOnly } from '../store/sqlite/index.js';
import { type EchoApp, InlineDispatcher, startEchoApp } from './test-kit.js';
import { createTestKey, putTestApp, startTestServer, type TestServer } from './test-server.js';

/** A dispatcher whose process "dies": requests start (or stay queued) and never finish. */
class FrozenDispatcher implements Dispatcher {
  private started = 0;
  constructor(private readonly startFirst: number) {}
  dispatch(req: DispatchRequest): Promise<DispatchResult> {
    if (this.started < this.startFirst) {
      this.started++;
      req.onStart?.({
        runnerId: 'dead-runner',
        startedAt: Date.now(),
        coldStart: true,
        coldBootMs: 5,
        attempt: 1,
      });
    }
    return new Promise(() => undefined);
  }
  cancelQueued = () => false;
  cancelRunning = async () => false;
  flushQueue = () => [];
  queuePosition = () => 0;
  stats = () => [];
}

let dir: string;
let echo: EchoApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-gw-recover-'));
  echo = await startEchoApp();
});

afterAll(async () => {
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('recovery after a crash', () => {
  it('runs every accepted queued request again, closes cut-off sync calls, and records nothing twice', async () => {
    const path = join(dir, 'hangar.db');
    const first: Stores = createSqliteStores({ path });
    const key = await createTestKey(first.keys, 'alice');
    await putTestApp(first.apps, 'alice', 'echo');
    const crashed: TestServer = await startTestServer({
      stores: first,
      dispatcher: new FrozenDispatcher(1),
      logBus: createLogBus(),
    });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await crashed.app.inject({
        method: 'POST',
        url: '/queue/alice/echo/turbo',
        headers: { authorization: `Key ${key}` },
        payload: { n },
      });
      ids.push(res.json().request_id);
    }
    void crashed.app.inject({
      method: 'POST',
      url: '/run/alice/echo',
      headers: { authorization: `Key ${key}` },
    });
    // A sync call is recorded once it has run for a moment (fast ones only at completion).
    await new Promise((r) => setTimeout(r, 400));
    await first.flush();
    // The crashed server is abandoned, never closed: nothing it holds in memory reaches the store.
    await first.close();
    await crashed.app.close();

    const stores = createSqliteStores({ path });
    const logBus = createLogBus();
    const dispatcher = new InlineDispatcher(echo.url, { concurrency: 2, logBus });
    const server = await startTestServer({ stores, dispatcher, logBus });
    await server.gateway.recover();
    for (const id of ids) {
      await expect
        .poll(async () => {
          const res = await fetch(`${server.url}/queue/alice/echo/requests/${id}/status`, {
            headers: { authorization: `Key ${key}` },
          });
          return ((await res.json()) as { status: string }).status;
        })
        .toBe('COMPLETED');
    }
    const result = await fetch(`${server.url}/queue/alice/echo/requests/${ids[0]}`, {
      headers: { authorization: `Key ${key}` },
    });
    expect(await result.json()).toMatchObject({ echo: { n: 1 }, path: '/turbo', request_id: ids[0] });
    await stores.flush();
    const records = await Promise.all(ids.map((id) => stores.requests.get(id)));
    expect(records.map((r) => r?.attempts)).toEqual([2, 1, 1]);
    expect(records.every((r) => r?.status === 'COMPLETED' && r.statusCode === 200)).toBe(true);
    expect(await stores.requests.listUnfinished()).toEqual([]);

    await server.gateway.recover();
    await stores.flush();
    const db = openReadOnly(path);
    const rows = db.prepare('SELECT mode, status, status_code FROM requests ORDER BY mode').all();
    db.close();
    expect(rows).toEqual([
      { mode: 'queue', status: 'COMPLETED', status_code: 200 },
      { mode: 'queue', status: 'COMPLETED', status_code: 200 },
      { mode: 'queue', status: 'COMPLETED', status_code: 200 },
      { mode: 'sync', status: 'COMPLETED', status_code: 502 },
    ]);
    await server.close();
    await dispatcher.close();
    await stores.close();
  });
});
