// The operations the API benchmark measures, built from the seed's metadata (keys, endpoints, window).
// Each has a name, a label for the results table, its p95 target (ms) when the issue sets one, whether
// it joins the background query loop (`heavy`), a `request()` for undici and a `check(body)` that
// rejects answers that are fast because they are empty.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HOUR = 3_600_000;

async function analyticsMetrics() {
  const file = join(ROOT, 'packages/core/dist/read-ports.js');
  if (!existsSync(file)) throw new Error(`${file} missing: run npm run build`);
  const { ANALYTICS_METRICS } = await import(pathToFileURL(file).href);
  return ANALYTICS_METRICS;
}

const iso = (ms) => new Date(ms).toISOString();
const json = (body) => JSON.parse(body);
function expect(cond, what) {
  if (!cond) throw new Error(`unexpected answer: ${what}`);
}

/** Follows `next_cursor` for up to `pages` pages of a list and returns the cursors seen. */
async function collectCursors(pool, req, pages) {
  const cursors = [];
  let cursor = null;
  for (let i = 0; i < pages; i++) {
    const r = req(cursor);
    const res = await pool.request(r);
    const body = await res.body.text();
    if (res.statusCode !== 200) {
      console.error(`cannot collect cursors: ${r.path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
      break;
    }
    cursor = json(body).next_cursor;
    if (!cursor) break;
    cursors.push(cursor);
  }
  return cursors;
}

/** The measured operations, the same-run references first. */
export async function apiOperations(meta, pool) {
  const owner = 'acme';
  const auth = { authorization: `Key ${meta.owners[owner].admin}` };
  const hot = meta.endpoints
    .filter((e) => e.owner === owner)
    .sort((a, b) => b.weight - a.weight)[0].endpoint_id;
  const end = meta.end;
  const start = meta.start;
  const day = { start: iso(end - 24 * HOUR), end: iso(end) };
  const metrics = await analyticsMetrics();
  const get = (path) => () => ({ method: 'GET', path, headers: auth });
  const post = (path) => () => ({
    method: 'POST',
    path,
    headers: { ...auth, 'content-type': 'application/json' },
    body: '[]',
  });
  const qs = (o) => new URLSearchParams(o).toString();

  const reqPage = (cursor) => ({
    method: 'GET',
    path: `/v1/serverless/requests/by-endpoint?${qs({ endpoint_id: hot, ...day, limit: '50', ...(cursor ? { cursor } : {}) })}`,
    headers: auth,
  });
  const reqCursors = await collectCursors(pool, reqPage, 40);
  const logsPage = (cursor) => ({
    ...post(`/v1/serverless/logs/history?${qs({ ...day, ...(cursor ? { cursor } : {}) })}`)(),
  });
  const logCursors = await collectCursors(pool, logsPage, 40);
  const cycle = (list, make) => {
    let i = 0;
    if (list.length === 0) list.push(null);
    return () => make(list[i++ % list.length]);
  };
  const items = (min) => (body) => expect(json(body).items.length >= min, `fewer than ${min} items`);

  return [
    {
      name: 'ref_jwks',
      label: 'reference: `GET /.well-known/jwks.json` (no auth)',
      request: () => ({ method: 'GET', path: '/.well-known/jwks.json' }),
    },
    {
      name: 'ref_apps',
      label: 'reference: `GET /v1/serverless/apps` (auth, 8 apps)',
      request: get('/v1/serverless/apps'),
    },
    {
      name: 'requests_page',
      label: `requests page, \`limit=50\`, last 24 h (${hot})`,
      target: 20,
      heavy: true,
      request: () => reqPage(null),
      check: items(50),
    },
    {
      name: 'requests_page_cursor',
      label: `requests page with a cursor (pages 2–${reqCursors.length + 1})`,
      target: 20,
      heavy: true,
      request: cycle(reqCursors, reqPage),
      check: items(50),
    },
    {
      name: 'analytics_30d_hourly',
      label: `analytics 30 d hourly, time_series + summary, all ${metrics.length} metrics`,
      target: 100,
      heavy: true,
      request: get(
        `/v1/serverless/analytics?${qs({ endpoint_id: hot, timeframe: 'hour', start: iso(end - 30 * 24 * HOUR), end: iso(end), expand: ['time_series', 'summary', ...metrics].join(',') })}`,
      ),
      check: (body) => expect(json(body).time_series?.length >= 700, 'fewer than 700 hourly buckets'),
    },
    {
      name: 'analytics_1y_monthly',
      label: `analytics 1 year, automatic timeframe (month), time_series + summary, all ${metrics.length} metrics`,
      target: 300,
      request: get(
        `/v1/serverless/analytics?${qs({ endpoint_id: hot, start: iso(end - 365 * 24 * HOUR), end: iso(end), expand: ['time_series', 'summary', ...metrics].join(',') })}`,
      ),
      check: (body) => expect(json(body).time_series?.length >= 12, 'fewer than 12 monthly buckets'),
    },
    {
      name: 'usage_30d_daily',
      label: 'usage 30 d daily, time_series + summary (owner acme, 8 apps)',
      target: 50,
      heavy: true,
      request: get(
        `/v1/serverless/usage?${qs({ timeframe: 'day', start: iso(start), end: iso(end), expand: 'time_series,summary' })}`,
      ),
      check: (body) => expect(json(body).time_series?.length >= 29, 'fewer than 29 daily buckets'),
    },
    {
      name: 'logs_search_24h',
      label: 'logs search "out of memory", last 24 h',
      target: 50,
      heavy: true,
      request: post(`/v1/serverless/logs/history?${qs({ ...day, search: 'out of memory' })}`),
      check: items(1),
    },
    {
      name: 'logs_search_30d',
      label: 'logs search "out of memory", 30 d (context)',
      heavy: true,
      request: post(
        `/v1/serverless/logs/history?${qs({ start: iso(start), end: iso(end), search: 'out of memory' })}`,
      ),
      check: items(1),
    },
    {
      name: 'logs_search_rare_30d',
      label: 'logs search "ECC error on GPU 7", 30 d (context)',
      request: post(
        `/v1/serverless/logs/history?${qs({ start: iso(start), end: iso(end), search: 'ECC error on GPU 7' })}`,
      ),
      check: items(1),
    },
    {
      name: 'logs_history_page',
      label: 'logs history page (100 lines), last 24 h',
      target: 20,
      heavy: true,
      request: logsPage.bind(null, null),
      check: items(100),
    },
    {
      name: 'logs_history_cursor',
      label: `logs history page with a cursor (pages 2–${logCursors.length + 1})`,
      target: 20,
      heavy: true,
      request: cycle(logCursors, logsPage),
      check: items(100),
    },
    {
      name: 'metrics',
      label: '`GET /v1/serverless/metrics`, uncached (`cache_ttl_s: 0`)',
      target: 10,
      heavy: true,
      request: get('/v1/serverless/metrics'),
      check: (b) => expect(b.includes('fal_app_'), 'no fal_app_ family'),
    },
  ];
}
