import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RunningServer, startServer } from '@hangar/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresMissing, startPostgres } from '../../server/src/test-services/postgres.test-helper.js';
import { redisMissing, startRedis } from '../../server/src/test-services/redis.test-helper.js';
import {
  type BrowserSession,
  CHROMIUM,
  ensureBuilt,
  openBrowser,
  screenshot,
} from './e2e/harness.test-helper.js';

const hasChromium = existsSync(CHROMIUM);
const KEY = 'nodes_dash:nodes-dashboard-secret-0123456789';
const homes: string[] = [];

/** A real server in a fresh home with a known ADMIN key; in a cluster when `engines` are given. */
async function serve(
  nodeId: string,
  engines?: { redisUrl: string; databaseUrl: string },
): Promise<RunningServer> {
  const home = mkdtempSync(join(tmpdir(), 'hangar-nodes-dash-'));
  homes.push(home);
  // Both servers share this process: no short dead threshold (a start may stall heartbeats).
  const cluster = { lease_ms: 3000, renew_ms: 300 };
  writeFileSync(join(home, 'hangar.config.json'), JSON.stringify({ cluster }));
  const env = {
    HANGAR_LOG_LEVEL: 'silent',
    HANGAR_ADMIN_KEY: KEY,
    HANGAR_NODE_ID: nodeId,
    ...(engines ? { HANGAR_REDIS_URL: engines.redisUrl, HANGAR_DATABASE_URL: engines.databaseUrl } : {}),
  };
  return startServer(loadConfig({ port: '0', home }, env, home));
}

describe.skipIf(!hasChromium)('the nodes page in Chromium', () => {
  let browser: BrowserSession;
  beforeAll(async () => {
    await ensureBuilt();
    browser = await openBrowser();
    // Signed in on every page of the servers (about:blank has no storage to write).
    await browser.context.addInitScript((key) => {
      if (location.protocol === 'http:') sessionStorage.setItem('hangar.key', key);
    }, KEY);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it('shows an embedded server as its one node and the leader, its heartbeat updating live', async () => {
    const server = await serve('solo');
    try {
      const { page } = browser;
      await page.goto(`${server.url}/nodes`);
      const row = page.locator('table[aria-label=Nodes] tr[data-node="solo"]');
      await row.waitFor();
      await expect(page.locator('[data-testid=leader]').textContent()).resolves.toBe('solo');
      await expect(row.locator('.tag').textContent()).resolves.toBe('leader');
      await expect(row.locator('[data-testid=node-status]').textContent()).resolves.toBe('alive');
      const first = await row.locator('td[title]').first().getAttribute('title');
      await page.waitForFunction(
        (before) =>
          document.querySelector('tr[data-node="solo"] td[title]')?.getAttribute('title') !== before,
        first,
        { timeout: 15_000 },
      );
      await screenshot(page, 'nodes-embedded');
      expect(browser.errors).toEqual([]);
    } finally {
      // Away from the page first: its polls would meet the stopped server.
      await browser.page.goto('about:blank');
      await server.shutdown();
    }
  }, 60_000);

  it.skipIf(redisMissing !== null || postgresMissing !== null)(
    'shows a node joining and one leaving a cluster without a reload',
    async () => {
      const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
      const engines = { redisUrl: redis.url, databaseUrl: await pg.createDatabase() };
      const a = await serve('node-a', engines);
      let b: RunningServer | null = null;
      try {
        const { page } = browser;
        await page.goto(`${a.url}/nodes`);
        await page.locator('tr[data-node="node-a"]').waitFor();
        b = await serve('node-b', engines);
        await page.locator('tr[data-node="node-b"]').waitFor({ timeout: 15_000 });
        // Both servers share this test's one event loop: a start can hold up renewals past the lease.
        const leaderIs = (ids: string[]) =>
          page.waitForFunction(
            (want) => want.includes(document.querySelector('[data-testid=leader]')?.textContent ?? ''),
            ids,
            { timeout: 15_000 },
          );
        await leaderIs(['node-a', 'node-b']);
        await screenshot(page, 'nodes-cluster');
        await b.shutdown();
        b = null;
        await page.locator('tr[data-node="node-b"]').waitFor({ state: 'detached', timeout: 15_000 });
        await leaderIs(['node-a']);
        expect(browser.errors).toEqual([]);
      } finally {
        await browser.page.goto('about:blank');
        await b?.shutdown();
        await a.shutdown();
        await redis.close();
        await pg.close();
      }
    },
    90_000,
  );
});
