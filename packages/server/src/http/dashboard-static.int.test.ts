import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestStores, type TestStores } from '../services/test-stores.js';
import { createHttpApp, type HttpApp } from './app.js';
import { createAuthenticator } from './auth.js';
import { registerDashboard } from './dashboard-static.js';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

let dir: string;
let t: TestStores;
let app: HttpApp;

function makeDist(): string {
  dir = mkdtempSync(join(tmpdir(), 'hangar-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), SCRIPT);
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

async function start(distDir: string): Promise<boolean> {
  t = openTestStores();
  app = createHttpApp({ logger: false, authenticator: createAuthenticator(t.stores.keys), bodyLimit: 1024 });
  app.get('/v1/thing', async () => ({ ok: true }));
  app.post('/queue/*', { config: { auth: 'none' } }, async () => ({ queued: true }));
  const found = registerDashboard(app, distDir);
  await app.ready();
  return found;
}

afterEach(async () => {
  await app?.close();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('registerDashboard', () => {
  it('serves index.html at / without a key, revalidated on every load', async () => {
    expect(await start(makeDist())).toBe(true);
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.body).toBe(INDEX);
  });

  it('serves hashed assets for a year, gzipped when the client accepts it, and answers 304 to a known ETag', async () => {
    await start(makeDist());
    const res = await app.inject({
      method: 'GET',
      url: '/assets/app-abc123.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.rawPayload).toString()).toBe(SCRIPT);
    const again = await app.inject({
      method: 'GET',
      url: '/assets/app-abc123.js',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    const plain = await app.inject({ method: 'GET', url: '/assets/app-abc123.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);
  });

  it('answers client routes with index.html so a reload keeps the page', async () => {
    await start(makeDist());
    for (const url of ['/apps', '/apps/demo/echo', '/logs?request=abc', '/files']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(INDEX);
    }
  });

  it('404s missing files instead of answering them with the page', async () => {
    await start(makeDist());
    for (const url of ['/assets/app-old999.js', '/robots.txt', '/favicon.ico']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.type).toBe('not_found');
    }
  });

  it('never shadows the API or the gateway', async () => {
    await start(makeDist());
    const unknown = await app.inject({ method: 'GET', url: '/v1/serverless/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.type).toBe('not_found');
    for (const url of ['/v1', '/run', '/queue', '/fal', '/fal/proxy', '/run/demo/echo']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/json/);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/thing' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/queue/demo/echo', payload: {} })).json()).toEqual({
      queued: true,
    });
  });

  it('serves a placeholder page when the dashboard is not built', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-dist-'));
    expect(await start(join(dir, 'missing'))).toBe(false);
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    const api = await app.inject({ method: 'GET', url: '/v1/serverless/nope' });
    expect(api.headers['content-type']).toMatch(/json/);
    expect(api.json().error).toBeDefined();
  });
});
