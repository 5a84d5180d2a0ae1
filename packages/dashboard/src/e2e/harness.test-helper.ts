import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHangarClient, type HangarClient } from '@hangar/client';
import { loadConfig, type RunningServer, startServer } from '@hangar/server';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The dashboard package folder. */
export const DASHBOARD_DIR = join(HERE, '..', '..');
const REPO_ROOT = join(DASHBOARD_DIR, '..', '..');
/** Where screenshots go. */
export const SHOTS_DIR = join(REPO_ROOT, 'test-output', 'dashboard');

/** Debian's Chromium (package `chromium`); never a downloaded browser. */
export const CHROMIUM = process.env['HANGAR_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/** Builds the dashboard when its build is missing or older than its sources (the server serves dist/). */
export async function ensureBuilt(): Promise<void> {
  const index = join(DASHBOARD_DIR, 'dist', 'index.html');
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => join(DASHBOARD_DIR, p));
  const newest = Math.max(...sources.filter(existsSync).map(newestMtime));
  if (existsSync(index) && statSync(index).mtimeMs >= newest) return;
  await build({ root: DASHBOARD_DIR, logLevel: 'warn' });
}

/** A demo server in a fresh home, with fast runner sampling and metering so charts fill quickly. */
export interface DemoServer {
  server: RunningServer;
  client: HangarClient;
  key: string;
  close(): Promise<void>;
}

/** Starts the real server with the demo apps and an ADMIN key. */
export async function startDemoServer(): Promise<DemoServer> {
  const home = mkdtempSync(join(tmpdir(), 'hangar-dashboard-e2e-'));
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({
      runners: { sample_interval_ms: 250, meter_interval_ms: 500 },
      metrics: { cache_ttl_s: 0 },
    }),
  );
  const config = loadConfig({ port: '0', home }, {}, home);
  const server = await startServer(config, { demo: true });
  const root = await fetch(`${server.url}/`);
  if (!root.headers.get('content-type')?.startsWith('text/html')) {
    await server.shutdown();
    throw new Error(
      `GET ${server.url}/ answered ${root.status}, not the dashboard: registerDashboard is not wired`,
    );
  }
  if (!server.adminKey) throw new Error('the server did not create an admin key in a fresh home');
  const client = createHangarClient({ url: server.url, key: server.adminKey });
  return {
    server,
    client,
    key: server.adminKey,
    close: async () => {
      await server.shutdown();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A browser page with every console error and uncaught exception collected. */
export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile. */
export async function openBrowser(): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'hangar-chromium-'));
  mkdirSync(SHOTS_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 860 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-output/dashboard. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
}
