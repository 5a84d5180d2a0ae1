import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Dispatcher,
  type DispatchResult,
  type FileStore,
  type Stores,
  systemClock,
  uuidIds,
} from '@hangar/core';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerRequestsRoutes } from '../api/requests/routes.js';
import { createGateway, type Gateway, registerGatewayRoutes } from '../gateway/gateway.js';
import { InlineDispatcher } from '../gateway/test-kit.js';
import { createTestKey, putTestApp } from '../gateway/test-server.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { createLogBus } from '../runners/log-bus.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createSqliteReads } from '../store/sqlite/reads/index.js';
import { createPayloadStore, type PayloadStore, payloadKey } from './payloads.js';

/** Payloads above this many bytes become objects in these tests. */
const THRESHOLD = 1024;
const TTL_MS = 3_600_000;

/** Stops and restarts the object store's backend (S3 only). */
export interface StoreOutage {
  freeze(): void;
  thaw(): void;
}

/** A gateway with the requests listing on real SQLite and a real object store, on a socket. */
interface Stack {
  url: string;
  key: string;
  payloads: PayloadStore;
  gateway: Gateway;
  close(): Promise<void>;
}

interface Row {
  raw_input: Buffer | null;
  result_body: Buffer | null;
  json_input: string | null;
  json_output: string | null;
  payload_objects: number;
}

/**
 * An app answering each body as it is, or, for `{"big": n}`, with `{"blob": "xxx…"}` of n characters (a
 * small input with a large output).
 */
async function startMirrorApp(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const big = /^\{"big":(\d+)\}$/.exec(body.toString())?.[1];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big ? JSON.stringify({ blob: 'x'.repeat(Number(big)) }) : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** A dispatcher whose runner never answers (the process "crashes" with the request queued). */
const frozenDispatcher: Dispatcher = {
  dispatch: () => new Promise<DispatchResult>(() => undefined),
  cancelQueued: () => false,
  cancelRunning: async () => false,
  flushQueue: () => [],
  queuePosition: () => 0,
  stats: () => [],
};

/**
 * Large request payloads on one object store backend: queued inputs, results and recorded payloads over
 * the threshold round-trip through the store, small ones stay in the row, restarts and purges keep the
 * store and the rows in step, and an outage never loses or half-records a request.
 */
export function describePayloadStore(
  name: string,
  openObjects: () => Promise<FileStore>,
  outage?: StoreOutage,
): void {
  describe(`request payloads in the object store (${name})`, () => {
    let dir: string;
    let dbPath: string;
    let mirror: Server;
    let mirrorUrl: string;
    let objects: FileStore;
    let stores: Stores;
    let stack: Stack;

    async function startStack(dispatcher: Dispatcher): Promise<Stack> {
      const payloads = createPayloadStore({
        rows: stores.requests,
        objects,
        thresholdBytes: THRESHOLD,
        logger: { warn: () => undefined },
      });
      const app: HttpApp = createHttpApp({
        logger: false,
        authenticator: createAuthenticator(stores.keys),
        bodyLimit: 1 << 20,
      });
      let url = '';
      const gateway = createGateway({
        dispatcher,
        requests: payloads,
        logs: stores.logs,
        logBus: createLogBus(),
        apps: stores.apps,
        clock: systemClock,
        ids: uuidIds,
        publicUrl: () => url,
        resultTtlMs: TTL_MS,
        jsonCap: 64 * 1024,
        jsonInput: { maxDepth: 64, maxItems: 100_000, maxStringBytes: 1 << 20 },
        webhook: {
          outbox: new MemoryWebhookOutbox(),
          allowPrivate: false,
          allowlist: [],
          maxAttempts: 1,
          retryBaseMs: 20,
        },
        logger: { warn: () => undefined, error: () => undefined },
        streams: createStreamSlots(10),
      });
      registerGatewayRoutes(app, gateway);
      const reads = createSqliteReads({ dbPath, size: 0 });
      const apps = (owner: string, app: string) => stores.apps.getApp(owner, app);
      registerRequestsRoutes(app, { reads, apps, clock: systemClock, maxRangeDays: 90, objects });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
      const key = `Key ${await createTestKey(stores.keys, 'alice')}`;
      return {
        url,
        key,
        payloads,
        gateway,
        async close() {
          await gateway.close();
          await payloads.flush();
          await app.close();
          await reads.pool.close();
        },
      };
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hangar-payload-store-'));
      mirror = await startMirrorApp();
      mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
      objects = await openObjects();
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => mirror.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    });

    async function openStores(): Promise<void> {
      dbPath = join(dir, `${randomUUID()}.db`);
      stores = createSqliteStores({ path: dbPath });
      await putTestApp(stores.apps, 'alice', 'mirror');
    }

    afterEach(async () => {
      outage?.thaw();
      await stack?.close();
      await stores?.close();
    });

    async function submit(body: string, headers: Record<string, string> = {}): Promise<Response> {
      return fetch(`${stack.url}/queue/alice/mirror`, {
        method: 'POST',
        headers: { authorization: stack.key, 'content-type': 'application/json', ...headers },
        body,
      });
    }

    async function resultOf(id: string): Promise<Response> {
      await expect
        .poll(async () => {
          const res = await fetch(`${stack.url}/queue/alice/mirror/requests/${id}/status`, {
            headers: { authorization: stack.key },
          });
          return ((await res.json()) as { status: string }).status;
        })
        .toBe('COMPLETED');
      return fetch(`${stack.url}/queue/alice/mirror/requests/${id}`, {
        headers: { authorization: stack.key },
      });
    }

    async function listed(id: string): Promise<{ json_input: unknown; json_output: unknown }> {
      const res = await fetch(
        `${stack.url}/v1/serverless/requests/by-endpoint?endpoint_id=alice/mirror&expand=payloads&request_id=${id}`,
        { headers: { authorization: stack.key } },
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: { json_input: unknown; json_output: unknown }[] };
      expect(page.items).toHaveLength(1);
      const { json_input, json_output } = page.items[0]!;
      return { json_input, json_output };
    }

    async function row(id: string): Promise<Row | undefined> {
      await stores.flush();
      const db = new Database(dbPath, { readonly: true });
      try {
        return db
          .prepare(
            'SELECT raw_input, result_body, json_input, json_output, payload_objects FROM requests WHERE request_id = ?',
          )
          .get(id) as Row | undefined;
      } finally {
        db.close();
      }
    }

    const exists = async (id: string, which: 'input' | 'output') =>
      (await objects.head(payloadKey('alice', id, which))) !== null;

    const large = (n = 4 * THRESHOLD) => JSON.stringify({ prompt: 'p'.repeat(n) });

    it('keeps a large input and output as objects, and reads them back for the result and the listing', async () => {
      await openStores();
      stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
      const body = large();
      const res = await submit(body);
      expect(res.status).toBe(200);
      const id = ((await res.json()) as { request_id: string }).request_id;
      const result = await resultOf(id);
      expect(result.status).toBe(200);
      expect(await result.text()).toBe(body);
      await stack.payloads.flush();
      expect(await row(id)).toEqual({
        raw_input: null,
        result_body: null,
        json_input: null,
        json_output: null,
        payload_objects: 15,
      });
      expect([await exists(id, 'input'), await exists(id, 'output')]).toEqual([true, true]);
      expect(await listed(id)).toEqual({ json_input: JSON.parse(body), json_output: JSON.parse(body) });
      // Read again once the in-memory copy is gone: from the object store through the store's getResult.
      expect((await stack.payloads.getResult(id))?.body.toString()).toBe(body);
    });

    it('keeps small payloads in the row and writes no object', async () => {
      await openStores();
      stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
      const body = JSON.stringify({ prompt: 'small' });
      const id = ((await (await submit(body)).json()) as { request_id: string }).request_id;
      expect(await (await resultOf(id)).text()).toBe(body);
      await stack.payloads.flush();
      const r = await row(id);
      expect(r).toMatchObject({ json_input: body, json_output: body, payload_objects: 0 });
      expect(r?.raw_input?.toString()).toBe(body);
      expect(r?.result_body?.toString()).toBe(body);
      expect([await exists(id, 'input'), await exists(id, 'output')]).toEqual([false, false]);
      expect(await listed(id)).toEqual({ json_input: { prompt: 'small' }, json_output: { prompt: 'small' } });
    });

    it('runs a queued large input again after a restart, read from the object store', async () => {
      await openStores();
      stack = await startStack(frozenDispatcher);
      const body = large();
      const id = ((await (await submit(body)).json()) as { request_id: string }).request_id;
      expect(await row(id)).toMatchObject({ raw_input: null, payload_objects: 3 });
      // The crashed gateway is abandoned; a new one resumes from the rows and the objects.
      await stack.close();
      stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
      await stack.gateway.recover();
      expect(await (await resultOf(id)).text()).toBe(body);
    });

    it('deletes the input and result objects when the result expires, keeping recorded payloads', async () => {
      await openStores();
      stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
      const body = large();
      const quiet = ((await (await submit(body, { 'x-fal-store-io': '0' })).json()) as { request_id: string })
        .request_id;
      const kept = ((await (await submit(body)).json()) as { request_id: string }).request_id;
      await resultOf(quiet);
      await resultOf(kept);
      await stack.payloads.flush();
      expect(await row(quiet)).toMatchObject({ json_input: null, payload_objects: 5 });
      expect([await exists(quiet, 'input'), await exists(quiet, 'output')]).toEqual([true, true]);
      expect(await stack.payloads.purgeResults(Date.now() + TTL_MS + 1_000)).toBeGreaterThanOrEqual(2);
      expect([await exists(quiet, 'input'), await exists(quiet, 'output')]).toEqual([false, false]);
      expect(await row(quiet)).toMatchObject({ payload_objects: 0 });
      expect(await stack.payloads.getResult(quiet)).toBeNull();
      // json_input and json_output share the objects: they stay, as recorded payloads stay in rows.
      expect(await row(kept)).toMatchObject({ payload_objects: 10 });
      expect(await stack.payloads.getResult(kept)).toBeNull();
      expect(await listed(kept)).toEqual({ json_input: JSON.parse(body), json_output: JSON.parse(body) });
    });

    it('sweeps objects no row points at, once old enough', async () => {
      await openStores();
      stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
      const id = ((await (await submit(large())).json()) as { request_id: string }).request_id;
      await resultOf(id);
      await stack.payloads.flush();
      const orphan = randomUUID();
      await objects.put(payloadKey('alice', orphan, 'input'), toBytes('{}'), {});
      expect(await stack.payloads.sweepOrphans(Date.now())).toBe(0);
      // Objects of earlier tests (other databases) are orphans here too.
      expect(await stack.payloads.sweepOrphans(Date.now() + 2 * 3_600_000)).toBeGreaterThanOrEqual(1);
      expect(await exists(orphan, 'input')).toBe(false);
      expect([await exists(id, 'input'), await exists(id, 'output')]).toEqual([true, true]);
    });

    it.skipIf(!outage)(
      'answers 503 for a large input while the store is down, recording nothing',
      async () => {
        await openStores();
        stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
        outage!.freeze();
        const res = await submit(large());
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).not.toBeNull();
        expect(await res.text()).toContain('Object storage is unavailable');
        await stores.flush();
        const db = new Database(dbPath, { readonly: true });
        expect(db.prepare('SELECT COUNT(*) AS n FROM requests').get()).toEqual({ n: 0 });
        db.close();
        // A small request needs no object: it is accepted while the store is down.
        const small = await submit(JSON.stringify({ prompt: 'small' }));
        expect(small.status).toBe(200);
        outage!.thaw();
      },
    );

    it.skipIf(!outage)(
      'completes a request whose large result cannot be written, keeping it in the row',
      async () => {
        await openStores();
        stack = await startStack(new InlineDispatcher(mirrorUrl, { concurrency: 2 }));
        outage!.freeze();
        const id = ((await (await submit('{"big":5000}')).json()) as { request_id: string }).request_id;
        const result = await resultOf(id);
        expect(((await result.json()) as { blob: string }).blob).toHaveLength(5000);
        await stack.payloads.flush();
        outage!.thaw();
        const r = await row(id);
        expect(r?.payload_objects).toBe(0);
        expect(r?.result_body?.length).toBeGreaterThan(5000);
        expect((await stack.payloads.getResult(id))?.body.length).toBe(r?.result_body?.length);
      },
    );
  });
}

async function* toBytes(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}
