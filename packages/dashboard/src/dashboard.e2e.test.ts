import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserSession,
  CHROMIUM,
  type DemoServer,
  ensureBuilt,
  openBrowser,
  screenshot,
  startDemoServer,
  waitFor,
} from './e2e/harness.test-helper.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`dashboard browser tests skipped: no Chromium at ${CHROMIUM} (Debian package "chromium")`);
}

let demo: DemoServer;
let browser: BrowserSession;
let page: Page;
const requestIds: string[] = [];

/** Real traffic: successes with logs and billing, a slow route, user errors and server errors. */
async function sendTraffic(d: DemoServer): Promise<void> {
  for (let i = 0; i < 6; i++) {
    const r = await d.client.queue.run('demo/echo', { n: i, logs: 2, billable_units: 1.5 });
    if (r.requestId) requestIds.push(r.requestId);
  }
  await d.client.queue.run('demo/echo/slow', { sleep_ms: 300 });
  // png scales from zero, so its first request is a cold start on another machine type.
  await d.client.queue.run('demo/png', { prompt: 'a red fox', width: 64, height: 64, steps: 2 });
  for (const input of [{ fail: '500' }, { status: 422 }]) {
    await d.client.queue.run('demo/echo', input).catch(() => undefined);
  }
  const queued = await d.client.queue.submit('demo/echo', { queued: true, logs: 1 });
  await waitFor('the queued request', async () => {
    const s = await d.client.queue.status('demo/echo', queued.request_id);
    return s.status === 'COMPLETED' ? s : undefined;
  });
  await d.client.files.uploadLocal('e2e/hello.txt', new Blob(['hello from the e2e test\n']));
}

const lastHour = () => new Date(Date.now() - 3600_000).toISOString();

/** Waits until metering has priced some machine time (it runs on a timer). */
async function waitForUsage(d: DemoServer): Promise<void> {
  await waitFor('usage rows', async () => {
    const u = await d.client.usage.get({ start: lastHour(), expand: ['summary'] });
    return u.summary?.some((r) => r.quantity > 0) ? true : undefined;
  });
}

/** Waits until the request rollups hold the traffic sent. */
async function waitForAnalytics(d: DemoServer): Promise<void> {
  await waitFor('analytics buckets', async () => {
    const expand: ('summary' | 'request_count')[] = ['summary', 'request_count'];
    const a = await d.client.analytics.get({
      endpoint_id: ['demo/echo', 'demo/png'],
      start: lastHour(),
      expand,
    });
    const counted = (id: string) => (a.summary?.find((r) => r.endpoint_id === id)?.request_count ?? 0) > 0;
    return counted('demo/echo') && counted('demo/png') ? true : undefined;
  });
}

/** Waits for a chart (by its caption, optionally inside `scope`) to hold points and returns how many. */
async function points(label: string, scope = ''): Promise<number> {
  const selector = `${scope} figure.chart[aria-label="${label}"]`.trim();
  await page.locator(selector).waitFor();
  await page.waitForFunction(
    (sel) => Number(document.querySelector(sel)?.getAttribute('data-points')) > 0,
    selector,
    {
      timeout: 10_000,
    },
  );
  return Number(await page.locator(selector).getAttribute('data-points'));
}

describe.skipIf(!hasChromium)('dashboard in Chromium against a real server', () => {
  beforeAll(async () => {
    await ensureBuilt();
    demo = await startDemoServer();
    await sendTraffic(demo);
    await waitForUsage(demo);
    browser = await openBrowser();
    page = browser.page;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('is served at / and signs in with a key', async () => {
    const res = await page.goto(demo.server.url);
    expect(res?.status()).toBe(200);
    await page.fill('input[name=key]', 'nope:wrong');
    await page.click('button[type=submit]');
    await expect(page.locator('.error-box').textContent()).resolves.toMatch(/\S/);
    await screenshot(page, 'sign-in-error');
    // The refused key is the one expected failure: Chromium logs the 401 of that call.
    expect(browser.errors).toEqual([expect.stringContaining('401')]);
    browser.errors.length = 0;
    await page.fill('input[name=key]', demo.key);
    await page.click('button[type=submit]');
    await page.locator('.app-card[data-app="demo/echo"]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('hangar.key'))).toBe(demo.key);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  }, 60_000);

  it('shows each app with its runners by state, live', async () => {
    const card = page.locator('.app-card[data-app="demo/echo"]');
    await page.waitForFunction(() => {
      const el = document.querySelector('.app-card[data-app="demo/echo"]');
      const counts = [...(el?.querySelectorAll('b[data-state]') ?? [])].map((b) => Number(b.textContent));
      return counts.some((n) => n > 0);
    });
    await expect(card.locator('[data-testid=queue-size]').textContent()).resolves.toMatch(/^\d+$/);
    await points('Runners by state (max per minute)', '.app-card[data-app="demo/echo"]');
    await screenshot(page, 'apps');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('shows the revisions and events of an app', async () => {
    await page.click('.app-card[data-app="demo/echo"] h2 a');
    await page.locator('table[aria-label=Revisions] tbody tr').first().waitFor();
    await expect(page.locator('table[aria-label=Revisions]').textContent()).resolves.toContain('current');
    await page.locator('ol[aria-label=Events] li').first().waitFor();
    // Live runners with their state and time in it; a click opens the runner's timeline.
    const runner = page.locator('table[aria-label="Live runners"] tbody tr').first();
    await runner.waitFor();
    await expect(runner.locator('[data-testid=runner-state]').textContent()).resolves.toMatch(/idle|running/);
    await runner.click();
    await page.locator('ol[aria-label="Runner timeline"] li[data-state=setup]').waitFor();
    await expect(
      page.locator('ol[aria-label="Runner timeline"] li').first().getAttribute('data-state'),
    ).resolves.toBe('pending');
    await screenshot(page, 'app-detail');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('lists requests with durations, units and payloads, linked to their logs', async () => {
    await page.goto(`${demo.server.url}/requests`);
    const id = requestIds[0]!;
    const row = page.locator(`tr[data-request="${id}"]`);
    await row.waitFor();
    expect(
      await page.locator('table[aria-label=Requests] tbody tr.clickable').count(),
    ).toBeGreaterThanOrEqual(9);
    await expect(row.textContent()).resolves.toContain('1.5');
    // Ids of the same minute share their first characters: each row shows its id's random tail, whole on hover.
    const idButton = row.locator('button.link');
    await expect(idButton.textContent()).resolves.toBe(`…${id.slice(-8)}`);
    await expect(idButton.getAttribute('title')).resolves.toBe(id);
    const shownIds = await page
      .locator('table[aria-label=Requests] tbody tr.clickable button.link')
      .allTextContents();
    expect(new Set(shownIds).size).toBe(shownIds.length);
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: demo.server.url,
    });
    await row.locator('button.copy-id').click();
    await row.locator('button.copy-id.copied').waitFor();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(id);
    expect(await page.locator('.request-detail').count()).toBe(0);
    await row.click();
    await expect(page.locator('.payloads').textContent()).resolves.toContain('"billable_units"');
    await screenshot(page, 'requests');
    await page.click('.request-detail a:has-text("View logs")');
    await page.waitForURL(/\/logs\?request=/);
    await page.locator(`.log-line[data-request="${id}"]`).first().waitFor();
    const chip = page.locator(`.log-line[data-request="${id}"] .chip`).first();
    await expect(chip.textContent()).resolves.toBe(`…${id.slice(-8)}`);
    await expect(chip.getAttribute('title')).resolves.toContain(id);
    const shown = await page
      .locator('.log-line')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-request')));
    expect(shown.length).toBeGreaterThanOrEqual(2);
    expect(new Set(shown)).toEqual(new Set([id]));
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('tails logs live: a new line appears within 2 s', async () => {
    await page.goto(`${demo.server.url}/logs?from=live&app=demo%2Fecho`);
    await page.locator('[data-status=live]').waitFor();
    const r = await demo.client.queue.run('demo/echo', { tail: true, logs: 1 });
    await page.locator(`.log-line[data-request="${r.requestId}"]`).waitFor({ timeout: 2000 });
    await page.click('button:has-text("Pause")');
    const shown = await page.locator('.log-line').count();
    const held = await demo.client.queue.run('demo/echo', { paused: true, logs: 1 });
    await page.getByRole('button', { name: /^Resume \(\d+ new\)$/ }).waitFor();
    expect(await page.locator('.log-line').count()).toBe(shown);
    await page.click('button:has-text("Resume")');
    await page.locator(`.log-line[data-request="${held.requestId}"]`).waitFor();
    await screenshot(page, 'logs');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('charts usage by app and machine type with a cost table', async () => {
    await page.goto(`${demo.server.url}/usage?range=1h`);
    expect(await points('Machine time')).toBeGreaterThan(0);
    expect(await points('Cost (USD)')).toBeGreaterThan(0);
    await expect(page.locator('table[aria-label=Cost]').textContent()).resolves.toContain('echo');
    await page.selectOption('select[name=by]', 'machine_type');
    // The chart re-renders after the select changes: wait for the machine-type legend rather than racing it.
    await page
      .locator('figure.chart[aria-label="Machine time"] .u-legend', { hasText: 'CPU' })
      .waitFor({ timeout: 10_000 });
    await screenshot(page, 'usage');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('charts request counts, error rates, latency percentiles and cold starts', async () => {
    await waitForAnalytics(demo);
    await page.goto(`${demo.server.url}/analytics?range=1h`);
    for (const label of ['Requests', 'Error rate', 'Queue time (prepare)', 'Execution time', 'Cold starts']) {
      expect(await points(label), label).toBeGreaterThan(0);
    }
    await expect(page.locator('table[aria-label="Analytics summary"]').textContent()).resolves.toContain(
      'demo/echo',
    );
    await screenshot(page, 'analytics');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('browses, uploads with progress and downloads files', async () => {
    await page.goto(`${demo.server.url}/files`);
    await page.click('tr[data-file="e2e"] button');
    await page.locator('tr[data-file="hello.txt"]').waitFor();
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    await page.setInputFiles('input[name=upload]', {
      name: 'big.bin',
      mimeType: 'application/octet-stream',
      buffer: bytes,
    });
    await page.locator('progress[data-done="true"]').waitFor();
    await page.locator('tr[data-file="big.bin"]').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('tr[data-file="hello.txt"] button:has-text("Download")'),
    ]);
    const path = await download.path();
    expect(await readFile(path, 'utf8')).toBe('hello from the e2e test\n');
    await screenshot(page, 'files');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('fits a narrow window and reads in dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${demo.server.url}/apps`);
    await page.locator('.app-card').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset['theme'])).toBe('dark');
    await screenshot(page, 'apps-dark');
    await page.setViewportSize({ width: 400, height: 800 });
    for (const path of ['/apps', '/requests', '/logs', '/usage']) {
      await page.goto(`${demo.server.url}${path}`);
      await page.locator('.page h1').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      await screenshot(page, `narrow-${path.slice(1)}`);
    }
    expect(browser.errors).toEqual([]);
  }, 60_000);
});
