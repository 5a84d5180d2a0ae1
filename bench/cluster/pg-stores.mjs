// The stores' hot write path on PostgreSQL beside SQLite, in the same run: request inserts that resolve
// once committed (64 callers at once, each waiting for its row), then an update and a completion per
// request, then log lines in appends of 20. Each figure is per second over the whole phase.
// Usage: npx tsx bench/cluster/pg-stores.mjs     (starts a throw-away PostgreSQL 15)
//        N=20000 npx tsx bench/cluster/pg-stores.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { logFixture, requestFixture } from '../../packages/server/src/store/fixtures.ts';
import { createPostgresStores } from '../../packages/server/src/store/postgres/index.ts';
import { createSqliteStores } from '../../packages/server/src/store/sqlite/index.ts';
import { startPostgres } from '../../packages/server/src/test-services/postgres.test-helper.ts';

const N = Number(process.env.N ?? 10_000);
const CALLERS = 64;
const quiet = { error: () => {} };

async function phase(fn) {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function measure(name, stores) {
  const tag = `${name}-${Date.now()}`;
  const ids = Array.from({ length: N }, (_, i) => `${tag}-${i}`);
  let next = 0;
  const insertS = await phase(() =>
    Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (next < N) {
          const id = ids[next++];
          await stores.requests.insert(
            requestFixture(id, { sentAt: Date.now() }),
            Buffer.from('{"prompt":"a cat"}'),
          );
        }
      }),
    ),
  );
  const updateS = await phase(async () => {
    for (const id of ids)
      stores.requests.update(id, { status: 'IN_PROGRESS', startedAt: Date.now(), runnerId: 'r1' });
    const body = Buffer.from('{"ok":true}');
    for (const id of ids)
      stores.requests.complete(
        id,
        { endedAt: Date.now(), statusCode: 200 },
        { statusCode: 200, contentType: 'application/json', body },
        Date.now() + 3_600_000,
      );
    await stores.flush();
  });
  const logS = await phase(async () => {
    for (let i = 0; i < N; i += 20)
      stores.logs.append(
        Array.from({ length: 20 }, (_, k) => logFixture(ids[i] ?? 'x', `line ${i + k} of some output`)),
      );
    await stores.flush();
  });
  return { insert: N / insertS, updates: (2 * N) / updateS, logs: N / logS };
}

const pg = await startPostgres();
const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-stores-'));
try {
  const sqlite = createSqliteStores({ path: join(dir, 'bench.db'), logger: quiet, flushIntervalMs: 2 });
  const a = await measure('sqlite', sqlite);
  await sqlite.close();
  const postgres = await createPostgresStores(await pg.createDatabase('bench'), { logger: quiet });
  const b = await measure('postgres', postgres);
  await postgres.close();
  console.log(
    `machine: ${hostname()} ${cpus().length}x ${cpus()[0]?.model}; node ${process.version}; N=${N}, ${CALLERS} insert callers`,
  );
  console.log('| per second | SQLite | PostgreSQL | PostgreSQL / SQLite |\n| --- | ---: | ---: | ---: |');
  for (const k of ['insert', 'updates', 'logs'])
    console.log(`| ${k} | ${Math.round(a[k])} | ${Math.round(b[k])} | ${(b[k] / a[k]).toFixed(2)} |`);
} finally {
  await pg.close();
  rmSync(dir, { recursive: true, force: true });
}
