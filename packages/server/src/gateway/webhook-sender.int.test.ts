import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  WEBHOOK_LEASE_MS,
  type WebhookDelivery,
  type WebhookOutbox,
  webhookRetryDelayMs,
} from '@hangar/core';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestFixture } from '../store/fixtures.js';
import { createMemoryStores, type MemoryStores } from '../store/memory/index.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import { loadMigrations, migratePostgres } from '../store/postgres/migrate.js';
import { PostgresWebhookOutbox } from '../store/postgres/outbox.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { postgresMissing, startPostgres } from '../test-services/postgres.test-helper.js';
import { createNetGuard } from './net-guard.js';
import { WebhookSender } from './webhook-sender.js';
import { createWebhookSigner, verifyWebhookSignature } from './webhook-signer.js';

interface Hit {
  id: string;
  timestamp: number;
  signature: string;
  body: Buffer;
}

/** A webhook receiver on 127.0.0.1 answering `status`, holding each request `holdMs`. */
class Receiver {
  hits: Hit[] = [];
  status = 200;
  holdMs = 0;
  inFlight = new Map<string, number>();
  maxInFlightPerId = 0;
  server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-fal-webhook-request-id']);
      const n = (this.inFlight.get(id) ?? 0) + 1;
      this.inFlight.set(id, n);
      this.maxInFlightPerId = Math.max(this.maxInFlightPerId, n);
      this.hits.push({
        id,
        timestamp: Number(req.headers['x-fal-webhook-timestamp']),
        signature: String(req.headers['x-fal-webhook-signature']),
        body: Buffer.concat(chunks),
      });
      setTimeout(() => {
        this.inFlight.set(id, this.inFlight.get(id)! - 1);
        res.statusCode = this.status;
        res.end();
      }, this.holdMs);
    });
  });
  async listen(port = 0): Promise<string> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const signer = createWebhookSigner();
let now = 0;
const clock = () => now;
const receivers: Receiver[] = [];
const senders: WebhookSender[] = [];
const dir = mkdtempSync(join(tmpdir(), 'hangar-webhook-sender-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of senders.splice(0)) await s.close();
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(): Promise<{ r: Receiver; url: string }> {
  const r = new Receiver();
  receivers.push(r);
  return { r, url: await r.listen() };
}

function sender(outbox: WebhookOutbox, stores: MemoryStores, allowPrivate = true): WebhookSender {
  const s = new WebhookSender({
    outbox,
    requests: stores.requests,
    logs: stores.logs,
    signer,
    guard: createNetGuard({ allowPrivate, allowlist: [] }),
    clock,
    logger: { warn: () => {}, error: () => {} },
    options: { allowPrivate, allowlist: [], outbox },
  });
  senders.push(s);
  return s;
}

const delivery = (id: string, url: string): WebhookDelivery => ({
  id,
  owner: 'acme',
  app: 'echo',
  userId: 'alice',
  url,
  createdAt: 0,
});

describe('webhook sender', () => {
  beforeAll(() => {
    now = 0;
  });

  it("retries on fal's schedule, re-signing each attempt with the same id, then gives up and tells the owner", async () => {
    const { r, url } = await receiver();
    r.status = 500;
    const stores = createMemoryStores();
    const outbox = new MemoryWebhookOutbox();
    const s = sender(outbox, stores);
    now = 1_000_000;
    const start = now;
    await outbox.ready(delivery('req-1', url), Buffer.from('{"status":"OK"}'), now);
    const sentAt: number[] = [];
    for (let attempt = 1; attempt <= 11; attempt++) {
      await s.runOnce();
      expect(r.hits).toHaveLength(attempt);
      sentAt.push(now - start);
      const rec = await outbox.get('req-1');
      if (attempt === 11) break;
      expect(rec).toMatchObject({
        state: 'pending',
        attempts: attempt,
        lastStatus: 500,
        lastError: 'HTTP 500',
      });
      now = rec!.dueAt! - 1;
      await s.runOnce();
      expect(r.hits).toHaveLength(attempt);
      now += 1;
    }
    const waits = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
    expect(waits).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => webhookRetryDelayMs(n)));
    expect(sentAt.at(-1)).toBeLessThan(2 * 3_600_000);
    expect(await outbox.get('req-1')).toMatchObject({ state: 'failed', attempts: 11, lastStatus: 500 });
    await s.runOnce();
    expect(r.hits).toHaveLength(11);
    expect(new Set(r.hits.map((h) => h.id))).toEqual(new Set(['req-1']));
    for (const h of r.hits) {
      expect(h.timestamp).toBeGreaterThanOrEqual(Math.floor(start / 1000));
      const headers = {
        requestId: h.id,
        userId: 'alice',
        timestamp: String(h.timestamp),
        signature: h.signature,
      };
      expect(verifyWebhookSignature(signer.jwks(), headers, h.body)).toBe(true);
    }
    const lines = stores.snapshot().logs.filter((l) => l.labels['fal_request_id'] === 'req-1');
    expect(lines).toHaveLength(11);
    expect(lines.slice(0, 10).every((l) => l.level === 'warn')).toBe(true);
    expect(lines[10]).toMatchObject({ level: 'error', owner: 'acme', app: 'echo' });
    expect(lines[10]!.message).toContain('failed after 11 attempts (HTTP 500)');
  });

  it('delivers to a receiver that was down for a while, on a later attempt', async () => {
    const probe = new Receiver();
    const url = await probe.listen();
    await probe.close();
    const port = Number(new URL(url).port);
    const stores = createMemoryStores();
    const outbox = new MemoryWebhookOutbox();
    const s = sender(outbox, stores);
    now = 5_000_000;
    await outbox.ready(delivery('req-2', url), Buffer.from('{}'), now);
    await s.runOnce();
    await s.runOnce();
    const rec = await outbox.get('req-2');
    expect(rec).toMatchObject({ state: 'pending', attempts: 1, lastStatus: null, lastError: 'ECONNREFUSED' });
    const r = new Receiver();
    receivers.push(r);
    await r.listen(port);
    now = rec!.dueAt!;
    await s.runOnce();
    expect(r.hits.map((h) => h.id)).toEqual(['req-2']);
    expect(await outbox.get('req-2')).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 200 });
  });

  it('retries after the lease a delivery whose sender died mid-attempt', async () => {
    const { r, url } = await receiver();
    const stores = createMemoryStores();
    const outbox = new MemoryWebhookOutbox();
    const s = sender(outbox, stores);
    now = 9_000_000;
    await outbox.ready(delivery('req-3', url), Buffer.from('{}'), now);
    expect(await outbox.claim(now, 10, WEBHOOK_LEASE_MS)).toHaveLength(1); // a sender that then dies
    await s.runOnce();
    expect(r.hits).toHaveLength(0);
    now += WEBHOOK_LEASE_MS;
    await s.runOnce();
    expect(r.hits.map((h) => h.id)).toEqual(['req-3']);
    expect(await outbox.get('req-3')).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  /** Two senders, each on its own connection to one store, racing over 40 due deliveries. */
  async function race(a: WebhookOutbox, b: WebhookOutbox): Promise<void> {
    const { r, url } = await receiver();
    r.holdMs = 30;
    const stores = createMemoryStores();
    now = 20_000_000;
    for (let i = 0; i < 40; i++) await a.ready(delivery(`req-${i}`, url), Buffer.from('{}'), now);
    const sa = sender(a, stores);
    const sb = sender(b, stores);
    await Promise.all([sa.runOnce(), sb.runOnce(), sa.runOnce(), sb.runOnce()]);
    expect(r.hits).toHaveLength(40);
    expect(new Set(r.hits.map((h) => h.id)).size).toBe(40);
    expect(r.maxInFlightPerId).toBe(1);
    for (let i = 0; i < 40; i++) expect((await b.get(`req-${i}`))?.state).toBe('delivered');
    for (const s of senders.splice(0)) await s.close();
  }

  it('never sends one delivery from two senders at once (two connections to one SQLite file)', async () => {
    const path = join(dir, 'two-senders.db');
    const a = createSqliteStores({ path });
    const b = createSqliteStores({ path });
    try {
      await race(a.outbox, b.outbox);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(postgresMissing !== null)(
    'never sends one delivery from two nodes at once (PostgreSQL)',
    async () => {
      const server = await startPostgres();
      const pools: pg.Pool[] = [];
      const open = (url: string) => {
        const pool = new pg.Pool({ connectionString: url, max: 4 });
        pool.on('error', () => {}); // an idle connection cut when the server stops
        pools.push(pool);
        return {
          query: async <T>(text: string, p?: readonly unknown[]) =>
            (await pool.query(text, p as unknown[])).rows as T[],
        };
      };
      try {
        const url = await server.createDatabase();
        await migratePostgres(open(url), await loadMigrations());
        await race(new PostgresWebhookOutbox(open(url)), new PostgresWebhookOutbox(open(url)));
      } finally {
        for (const p of pools) await p.end();
        await server.close();
      }
    },
  );

  it('refuses a private destination at send time (SSRF rules) and records it as failed', async () => {
    const { r, url } = await receiver();
    const stores = createMemoryStores();
    const outbox = new MemoryWebhookOutbox();
    const s = sender(outbox, stores, false);
    now = 30_000_000;
    await outbox.ready(delivery('req-4', url), Buffer.from('{}'), now);
    await s.runOnce();
    expect(r.hits).toHaveLength(0);
    expect(await outbox.get('req-4')).toMatchObject({ state: 'failed', lastError: 'destination refused' });
    const [line] = stores.snapshot().logs.filter((l) => l.labels['fal_request_id'] === 'req-4');
    expect(line?.message).toBe('Webhook destination refused: not a public address, or it does not resolve');
  });

  it('arms a waiting delivery whose request completed without it, and drops one whose request was never recorded', async () => {
    const { r, url } = await receiver();
    const stores = createMemoryStores({ clock });
    const outbox = new MemoryWebhookOutbox();
    const s = sender(outbox, stores);
    now = 40_000_000;
    const rec = { ...requestFixture('req-5'), webhookUrl: url, sentAt: now };
    await stores.requests.insert(rec, Buffer.from('{}'));
    const result = { statusCode: 200, contentType: 'application/json', body: Buffer.from('{"n":5}') };
    stores.requests.complete('req-5', { status: 'COMPLETED', statusCode: 200 }, result, now + 3_600_000);
    await outbox.enqueue({ ...delivery('req-5', url), createdAt: now });
    await outbox.enqueue({ ...delivery('req-6', url), createdAt: now });
    await s.repair();
    expect((await outbox.get('req-5'))?.state).toBe('waiting');
    now += 61_000;
    await s.repair(); // arms req-5 and starts sending at once
    await expect.poll(() => r.hits.map((h) => h.id)).toEqual(['req-5']);
    expect(JSON.parse(r.hits[0]!.body.toString())).toMatchObject({
      request_id: 'req-5',
      status: 'OK',
      payload: { n: 5 },
    });
    expect(await outbox.get('req-6')).toMatchObject({
      state: 'failed',
      lastError: 'request was not recorded',
    });
  });
});
