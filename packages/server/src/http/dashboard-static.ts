import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from './app.js';

/** Path prefixes that belong to the API and the gateway: the dashboard never answers under them. */
export const RESERVED_PREFIXES = ['/v1', '/run', '/queue', '/fal'] as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.txt', '.webmanifest']);

// Hashed file names under assets/ never change content, so browsers may keep them for a year.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=300';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

function isReserved(path: string): boolean {
  return RESERVED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Reads the whole build into memory once (it is small), with gzip variants and strong ETags. */
function loadAssets(distDir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = listFiles(distDir);
  } catch {
    return assets;
  }
  for (const file of files) {
    const url = `/${relative(distDir, file).split(sep).join('/')}`;
    const ext = extname(file).toLowerCase();
    const body = readFileSync(file);
    const gzip = COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body, { level: 9 }) : null;
    assets.set(url, {
      body,
      gzip,
      type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cacheControl: url === '/index.html' ? 'no-cache' : url.startsWith('/assets/') ? IMMUTABLE : SHORT,
    });
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply
    .header('cache-control', asset.cacheControl)
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding');
  reply.header('x-content-type-options', 'nosniff');
  if (asset.type.startsWith('text/html')) {
    reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
  }
  if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
  reply.type(asset.type);
  const accepts = String(request.headers['accept-encoding'] ?? '');
  if (asset.gzip && /\bgzip\b/.test(accepts))
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Hangar</title>
<body style="font-family:system-ui;max-width:40em;margin:4em auto;padding:0 1em">
<h1>Hangar</h1><p>The web dashboard is not built. Run <code>npm run build</code> and restart the server.</p>
<p>The API is up under <code>/v1</code>.</p></body>`;

/**
 * Serves the dashboard's build from `distDir` at `/` without authentication (the page signs in with a
 * key itself): hashed assets are cached for a year, and any other extension-less path gets
 * `index.html` so client-side routes survive a reload. Paths under `/v1`, `/run`, `/queue` and `/fal`
 * are never answered here. Returns whether a build was found.
 */
export function registerDashboard(app: HttpApp, distDir: string): boolean {
  const assets = loadAssets(distDir);
  const index = assets.get('/index.html');
  const config = { auth: 'none' as const };

  if (!index) {
    app.log.warn({ distDir }, 'dashboard build not found; serving a placeholder at /');
    app.get('/', { config }, async (_request, reply) =>
      reply.status(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT),
    );
    return false;
  }

  app.get('/', { config }, async (request, reply) => send(request, reply, index));
  app.get('/*', { config }, async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (isReserved(path)) return reply.callNotFound();
    const asset = assets.get(path);
    if (asset) return send(request, reply, asset);
    // A missing file (a stale hashed asset, a stray favicon request) is a 404, not the app shell.
    if (extname(path) !== '' || path.includes('/assets/')) return reply.callNotFound();
    return send(request, reply, index);
  });
  return true;
}
