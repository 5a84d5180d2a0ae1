import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  insertRequests,
  openHarness,
  type SeedRequest,
} from '../analytics/harness.test-helper.js';
import { describeOnBackends } from '../testing/backends.test-helper.js';

const NOW = Date.UTC(2025, 0, 15, 12);
const MIN = 60_000;

describeOnBackends('requests routes', (backend) => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ backend, now: NOW });
  });
  afterEach(async () => {
    await h.close();
  });

  function done(endpoint: string, minutesAgo: number, over: Partial<SeedRequest> = {}): SeedRequest {
    const endedAt = NOW - minutesAgo * MIN;
    return {
      endpoint,
      sentAt: endedAt - 3000,
      startedAt: endedAt - 2000,
      endedAt,
      statusCode: 200,
      prepareMs: 1000,
      durationMs: 2000,
      runnerId: randomUUID(),
      ...over,
    };
  }

  type Item = {
    request_id: string;
    endpoint_id: string;
    ended_at: string | null;
    duration: number | null;
  } & Record<string, unknown>;

  async function list(
    query: string,
    key?: string,
  ): Promise<{ items: Item[]; next_cursor: string | null; has_more: boolean }> {
    const res = await h.get(`/v1/serverless/requests/by-endpoint?${query}`, key);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  async function listAll(query: string): Promise<Item[]> {
    const out: Item[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(cursor ? `${query}&cursor=${encodeURIComponent(cursor)}` : query);
      expect(page.has_more).toBe(page.next_cursor !== null);
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  }

  describe('GET /v1/serverless/requests/by-endpoint', () => {
    it('lists completed requests newest first, then in-flight ones', async () => {
      const [old, recent] = insertRequests(h.db, [done('alice/img', 30), done('alice/img', 5)]);
      const [open] = insertRequests(h.db, [{ endpoint: 'alice/img', sentAt: NOW - MIN }]);
      const page = await list('endpoint_id=alice/img');
      expect(page.items.map((i) => i.request_id)).toEqual([recent, old, open]);
      expect(page.items[2]).toMatchObject({
        ended_at: null,
        status_code: null,
        duration: null,
        runner_id: null,
      });
      // fal's `duration` is the total: sent to ended (3 s), the 1 s in the queue included, not the 2 s run.
      expect(page.items[0]).toMatchObject({ endpoint_id: 'alice/img', status_code: 200, duration: 3 });
      expect(page.items[0]).not.toHaveProperty('json_input');
      expect(page).toMatchObject({ next_cursor: null, has_more: false });
    });

    it('includes route-level endpoints for a bare app id, and filters to one route', async () => {
      const [root, turbo] = insertRequests(h.db, [
        done('alice/img', 3),
        done('alice/img/turbo', 2),
        done('alice/txt', 1),
      ]);
      expect((await list('endpoint_id=alice/img')).items.map((i) => i.request_id)).toEqual([turbo, root]);
      expect((await list('endpoint_id=alice/img/turbo')).items.map((i) => i.request_id)).toEqual([turbo]);
    });

    it('accepts endpoint_id repeated and comma-separated alike', async () => {
      insertRequests(h.db, [done('alice/img', 3), done('alice/txt', 2), done('alice/img/turbo', 1)]);
      const repeated = await list('endpoint_id=alice/img&endpoint_id=alice/txt');
      const comma = await list('endpoint_id=alice/img,alice/txt');
      expect(repeated.items).toHaveLength(3);
      expect(comma.items).toEqual(repeated.items);
    });

    it('filters by status class, request id and time window', async () => {
      const [ok, userErr, srvErr] = insertRequests(h.db, [
        done('alice/img', 10),
        done('alice/img', 20, { statusCode: 422 }),
        done('alice/img', 30, { statusCode: 503, errorClass: 'runtime' }),
        done('alice/img', 60 * 30),
      ]);
      insertRequests(h.db, [{ endpoint: 'alice/img', sentAt: NOW - MIN }]);
      const ids = async (q: string) =>
        (await list(`endpoint_id=alice/img&${q}`)).items.map((i) => i.request_id);
      expect(await ids('status=success')).toEqual([ok]);
      expect(await ids('status=user_error')).toEqual([userErr]);
      expect(await ids('status=error')).toEqual([srvErr]);
      expect(await ids(`request_id=${userErr}`)).toEqual([userErr]);
      const start = new Date(NOW - 25 * MIN).toISOString();
      const end = new Date(NOW - 15 * MIN).toISOString();
      expect(await ids(`start=${start}&end=${end}`)).toEqual([userErr]);
      // The default window is 24 hours; a request id widens it to 90 days.
      expect(await ids('')).toHaveLength(4);
    });

    it('finds an old request by id within 90 days', async () => {
      const [old] = insertRequests(h.db, [done('alice/img', 60 * 24 * 30)]);
      expect((await list(`endpoint_id=alice/img&request_id=${old}`)).items).toHaveLength(1);
      expect((await list('endpoint_id=alice/img')).items).toHaveLength(0);
    });

    it('expands payloads and billing on request', async () => {
      insertRequests(h.db, [
        done('alice/img', 1, { input: { prompt: 'cat' }, output: { ok: true }, billableUnits: 1.5 }),
      ]);
      const [item] = (await list('endpoint_id=alice/img&expand=payloads,billing')).items;
      expect(item).toMatchObject({
        json_input: { prompt: 'cat' },
        json_output: { ok: true },
        billable_units: 1.5,
      });
    });

    it('sorts by duration, longest first', async () => {
      const [a, b, c] = insertRequests(h.db, [
        done('alice/img', 1, { durationMs: 500 }),
        done('alice/img', 2, { durationMs: 9000 }),
        done('alice/img', 3, { durationMs: null, statusCode: 499 }),
      ]);
      const all = await listAll('endpoint_id=alice/img&sort_by=duration&limit=1');
      expect(all.map((i) => i.request_id)).toEqual([b, a, c]);
      // Long windows walk the duration index instead of sorting: same order.
      const start = new Date(NOW - 10 * 24 * 60 * MIN).toISOString();
      const long = await listAll(`endpoint_id=alice/img&sort_by=duration&limit=2&start=${start}`);
      expect(long.map((i) => i.request_id)).toEqual([b, a, c]);
      const errors = await listAll(`endpoint_id=alice/img&sort_by=duration&status=user_error&start=${start}`);
      expect(errors.map((i) => i.request_id)).toEqual([c]);
    });

    it('pages with stable cursors while new rows arrive: no skip, no repeat', async () => {
      const seeded = insertRequests(
        h.db,
        Array.from({ length: 23 }, (_, i) =>
          done(i % 2 ? 'alice/img' : 'alice/img/turbo', 100 - (i % 7), {}),
        ),
      );
      insertRequests(h.db, [
        { endpoint: 'alice/img', sentAt: NOW - 5 * MIN },
        { endpoint: 'alice/img', sentAt: NOW - 5 * MIN },
      ]);
      const seen: string[] = [];
      let cursor: string | null = null;
      let page = 0;
      do {
        const res = await list(`endpoint_id=alice/img&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...res.items.map((i) => i.request_id));
        cursor = res.next_cursor;
        // New traffic lands between pages (and time moves on).
        h.clock.now += MIN;
        insertRequests(h.db, [done('alice/img', -page - 1), done('alice/img/turbo', 100 - (page % 7))]);
        page++;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of seeded) expect(seen).toContain(id);
    });

    it("serves fal's page-number cursors (Mg== = page 2) as the same pages the keyset cursors walk", async () => {
      insertRequests(
        h.db,
        Array.from({ length: 23 }, (_, i) => done(i % 2 ? 'alice/img' : 'alice/img/turbo', 100 - i, {})),
      );
      insertRequests(h.db, [{ endpoint: 'alice/img', sentAt: NOW - 5 * MIN }]);
      const keyset: string[][] = [];
      let cursor: string | null = null;
      do {
        const res = await list(`endpoint_id=alice/img&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
        keyset.push(res.items.map((i) => i.request_id));
        cursor = res.next_cursor;
      } while (cursor);
      expect(keyset).toHaveLength(5);
      for (let page = 1; page <= 6; page++) {
        const b64 = Buffer.from(String(page)).toString('base64');
        const res = await list(`endpoint_id=alice/img&limit=5&cursor=${encodeURIComponent(b64)}`);
        expect(res.items.map((i) => i.request_id)).toEqual(keyset[page - 1] ?? []);
        expect(res.has_more).toBe(page < 5);
      }
      expect(Buffer.from('Mg==', 'base64').toString()).toBe('2');
      expect(
        (await list('endpoint_id=alice/img&limit=5&cursor=Mg==')).items.map((i) => i.request_id),
      ).toEqual(keyset[1]);
      // The next_cursor of a page-number page is our keyset cursor: following it continues with page 3.
      const two = await list('endpoint_id=alice/img&limit=5&cursor=Mg==');
      expect(
        (await list(`endpoint_id=alice/img&limit=5&cursor=${two.next_cursor}`)).items.map(
          (i) => i.request_id,
        ),
      ).toEqual(keyset[2]);
    });

    it('refuses endpoints of another owner with 403 and unknown apps with 404', async () => {
      insertRequests(h.db, [done('bob/vid', 1)]);
      const res = await h.get('/v1/serverless/requests/by-endpoint?endpoint_id=alice/img,bob/vid');
      expect(res.statusCode).toBe(403);
      expect(res.json().error.type).toBe('authorization_error');
      const bobs = await h.get('/v1/serverless/requests/by-endpoint?endpoint_id=bob/vid', h.keys.apiB);
      expect(bobs.json().items).toHaveLength(1);
      const missing = await h.get('/v1/serverless/requests/by-endpoint?endpoint_id=alice/nope');
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.type).toBe('not_found');
      // 403 comes first, so a foreign owner's app names are not revealed.
      expect((await h.get('/v1/serverless/requests/by-endpoint?endpoint_id=bob/nope')).statusCode).toBe(403);
    });

    it('validates parameters with 400', async () => {
      const bad = [
        '',
        'endpoint_id=',
        'endpoint_id=noslash',
        `endpoint_id=${Array.from({ length: 51 }, (_, i) => `alice/a${i}`).join(',')}`,
        'endpoint_id=alice/img&limit=0',
        'endpoint_id=alice/img&limit=101',
        'endpoint_id=alice/img&status=ok',
        'endpoint_id=alice/img&sort_by=sent_at',
        'endpoint_id=alice/img&expand=everything',
        'endpoint_id=alice/img&cursor=!!',
        `endpoint_id=alice/img&limit=100&cursor=${Buffer.from('1002').toString('base64')}`,
        'endpoint_id=alice/img&start=yesterday',
        'endpoint_id=alice/img&start=2023-01-01&end=2025-01-01',
      ];
      for (const q of bad) {
        const res = await h.get(`/v1/serverless/requests/by-endpoint?${q}`);
        expect(res.statusCode, q).toBe(400);
        expect(res.json().error.type).toBe('validation_error');
      }
      expect(
        (await h.get('/v1/serverless/requests/by-endpoint?endpoint_id=alice/img', 'Key x:y')).statusCode,
      ).toBe(401);
    });

    it('refuses a cursor issued for another sort order', async () => {
      insertRequests(h.db, [done('alice/img', 1), done('alice/img', 2)]);
      const first = await list('endpoint_id=alice/img&limit=1');
      const res = await h.get(
        `/v1/serverless/requests/by-endpoint?endpoint_id=alice/img&sort_by=duration&cursor=${first.next_cursor}`,
      );
      expect(res.statusCode).toBe(400);
    });
  });
});
