import type { MeterRecord } from '@hangar/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestRollup } from '../../telemetry/request-rollup.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { describeStoresContract } from '../contract.js';
import { logFixture, requestFixture } from '../fixtures.js';
import { describeSecretStoreContract } from '../secret-contract.js';
import { createPostgresStores } from './index.js';

let server: PgTestServer;
const quiet = { error: () => {} };

async function rows<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

describe.skipIf(postgresMissing !== null)('PostgreSQL stores', () => {
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  describeStoresContract('postgres', async () => {
    const url = await server.createDatabase();
    return {
      stores: await createPostgresStores(url, { logger: quiet }),
      reopen: () => createPostgresStores(url, { logger: quiet }),
      meterRows: async () =>
        (await rows<Record<string, unknown>>(url, 'SELECT * FROM meter')).map(
          (r): MeterRecord => ({
            runnerId: r.runner_id as string,
            minute: Number(r.minute),
            owner: r.owner as string,
            app: r.app as string,
            environment: r.environment as string,
            machineType: r.machine_type as string,
            isSurge: r.is_surge === 1,
            seconds: r.seconds as number,
          }),
        ),
    };
  });

  describeSecretStoreContract('postgres', async () => {
    const url = await server.createDatabase();
    const openAt = async () => {
      const stores = await createPostgresStores(url, { logger: quiet });
      return { secrets: stores.secrets, close: () => stores.close() };
    };
    return { ...(await openAt()), reopen: openAt };
  });

  it('group-commits many inserts and keeps every update and completion after its insert', async () => {
    const url = await server.createDatabase();
    const stores = await createPostgresStores(url, { logger: quiet });
    const ids = Array.from({ length: 500 }, (_, i) => `g${i}`);
    const done = ids.map((id) => stores.requests.insert(requestFixture(id), Buffer.from(id)));
    for (const id of ids) stores.requests.update(id, { status: 'IN_PROGRESS', runnerId: id });
    for (const id of ids.slice(0, 250)) {
      stores.requests.complete(id, { statusCode: 200, endedAt: 5 }, null, Date.now() + 60_000);
      // A late update after the completion is applied after it, as SQLite would.
      stores.requests.update(id, { attempts: 2 });
    }
    await Promise.all(done);
    await stores.flush();
    const [counts] = await rows<{ progress: string; completed: string; late: string }>(
      url,
      `SELECT count(*) FILTER (WHERE status = 'IN_PROGRESS' AND runner_id = request_id) AS progress,
              count(*) FILTER (WHERE status = 'COMPLETED' AND status_code = 200 AND runner_id = request_id) AS completed,
              count(*) FILTER (WHERE attempts = 2) AS late FROM requests`,
    );
    expect(counts).toEqual({ progress: '250', completed: '250', late: '250' });
    await stores.close();
  });

  it('gives log ids in commit order across two nodes appending at once', async () => {
    const url = await server.createDatabase();
    const a = await createPostgresStores(url, { logger: quiet });
    const b = await createPostgresStores(url, { logger: quiet });
    const seen: number[] = [];
    let last = 0;
    // A reader polling `id > last` as an SSE replay would: it must end up with every line exactly once.
    const poll = async () => {
      const lines = await a.logs.listByRequest('q', last);
      for (const l of lines) seen.push(l.id!);
      if (lines.length > 0) last = lines.at(-1)!.id!;
    };
    const writers = [a, b].map(async (s, n) => {
      for (let i = 0; i < 40; i++) {
        s.logs.append(Array.from({ length: 5 }, (_, k) => logFixture('q', `${n}-${i}-${k}`)));
        await new Promise((r) => setImmediate(r));
      }
      await s.flush();
    });
    let writing = true;
    const reader = (async () => {
      while (writing) await poll();
    })();
    await Promise.all(writers);
    writing = false;
    await reader;
    await poll();
    expect(seen.length).toBe(400);
    expect(new Set(seen).size).toBe(400);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    await a.close();
    await b.close();
  });
});

describe.skipIf(postgresMissing !== null)('PostgreSQL analytics rollups', () => {
  let pgServer: PgTestServer;
  beforeAll(async () => {
    pgServer = await startPostgres();
  });
  afterAll(async () => {
    await pgServer?.close();
  });

  it('merges what two nodes drain into the same cells, in every span', async () => {
    const url = await pgServer.createDatabase();
    const nodes = [
      await createPostgresStores(url, { logger: quiet }),
      await createPostgresStores(url, { logger: quiet }),
    ];
    const minute = Date.UTC(2026, 0, 5, 10, 7);
    for (let round = 0; round < 5; round++) {
      for (const [n, stores] of nodes.entries()) {
        const rollup = new RequestRollup();
        for (let i = 0; i < 3; i++) {
          rollup.observe({
            ...requestFixture(`r${round}-${n}-${i}`),
            endedAt: minute + i * 1000,
            statusCode: i === 0 ? 500 : 200,
            durationMs: 100,
          });
        }
        stores.rollups.record(rollup.drain());
      }
    }
    await Promise.all(nodes.map((s) => s.flush()));
    const cells = await rows<{
      span: string;
      request_count: string;
      success_count: string;
      duration_sum_ms: number;
    }>(url, 'SELECT span, request_count, success_count, duration_sum_ms FROM request_rollups ORDER BY span');
    expect(
      cells.map((c) => [Number(c.span), Number(c.request_count), Number(c.success_count), c.duration_sum_ms]),
    ).toEqual([
      [60_000, 30, 20, 3000],
      [900_000, 30, 20, 3000],
      [3_600_000, 30, 20, 3000],
      [86_400_000, 30, 20, 3000],
    ]);
    for (const s of nodes) await s.close();
  });
});
