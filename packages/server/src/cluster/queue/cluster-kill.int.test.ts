import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppManifest } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, makeAppDir, until } from '../../runners/supervisor.test-helper.js';
import { createSqliteStores, type SqliteStores } from '../../store/sqlite/index.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { accepted, deployOn, startNode, type TestNode } from './cluster-queue.test-helper.js';
import { RedisWorkQueue } from './redis-work-queue.js';

const CHILD = fileURLToPath(new URL('./node-process.test-helper.ts', import.meta.url));

/** Starts a node in its own process and waits for its `ready`. */
async function spawnNode(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  await until(() => {
    if (child.exitCode !== null) throw new Error(`node process exited ${child.exitCode}`);
    return out.includes('ready');
  }, 30_000);
  return child;
}

describe.skipIf(redisMissing !== null)('cluster queue: a node killed with SIGKILL mid-request', () => {
  let redis: RedisTestServer;
  let dir: string;
  let stores: SqliteStores;
  let a: TestNode | null = null;
  let child: ChildProcess | null = null;
  let app: { dir: string; cleanup: () => void };
  const manifests = new Map<string, AppManifest>();

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'hangar-ck-'));
    stores = createSqliteStores({ path: join(dir, 'hangar.db') });
    app = makeAppDir();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await a?.sup.close(2000);
    await stores?.close();
    await redis?.close();
    app?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the request on the surviving node within 15 s and records it once, with the lost attempt counted', async () => {
    const env = {
      REDIS_URL: redis.url,
      DB_PATH: join(dir, 'hangar.db'),
      NODE_ID: 'kill-b',
      APP_DIR: app.dir,
      DATA_ROOT: join(dir, 'data'),
      APP: 'victim',
    };
    child = await spawnNode(env);
    a = await startNode('kill-a', redis.url, stores.requests, join(dir, 'data'), manifests);
    const req = await accepted(stores.requests, 'victim', { sleep_ms: 4000 });
    const pending = a.sup.dispatch(req);
    const observer = new RedisWorkQueue(openRedis(redis.url, { name: 'test:observer' }));
    await until(async () => {
      const st = await observer.state(req.requestId);
      return st.state === 'claimed' && st.node === 'kill-b';
    });
    await until(async () => (await stores.requests.get(req.requestId))?.status === 'IN_PROGRESS');
    const orphans = (await stores.runners.listLiveRunners())
      .map((r) => Number(r.ref))
      .filter((pid) => pid > 0);
    await deployOn(a, app.dir, 'victim', manifests);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    // The killed node's runner outlives it (its own process group): stop it as the node's host would.
    for (const pid of orphans) process.kill(-pid, 'SIGKILL');
    const result = await pending;
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(result.statusCode).toBe(200);
    const runner = json(result.body).runner;
    expect(a.sup.runners('alice', 'victim').map((r) => r.runnerId)).toContain(runner);
    await stores.flush();
    expect(await stores.requests.get(req.requestId)).toMatchObject({
      status: 'COMPLETED',
      statusCode: 200,
      runnerId: runner,
      attempts: 2,
    });
    await observer.close();
  });
});
