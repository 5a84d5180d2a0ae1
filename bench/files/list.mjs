// Files list latency through Hangar on a folder of many entries: pages (`?limit=`, a first page and a
// middle one reached by its cursor) and the whole listing, on local disk (file://) and on S3 (s3rver),
// with a bare `readdir` of the same folder in the same run as the reference. Not a test: prints a
// Markdown report. Env: BENCH_LIST_OBJECTS (100000), BENCH_LIST_PAGE (1000), BENCH_LIST_SAMPLES (50 per
// page measurement), BENCH_LIST_FULL_SAMPLES (5), BENCH_S3_LIST_OBJECTS (20000), BENCH_S3_LIST_SAMPLES
// (10), BENCH_DIR.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const OBJECTS = Number(process.env.BENCH_LIST_OBJECTS ?? 100_000);
const PAGE = Number(process.env.BENCH_LIST_PAGE ?? 1000);
const SAMPLES = Number(process.env.BENCH_LIST_SAMPLES ?? 50);
const FULL_SAMPLES = Number(process.env.BENCH_LIST_FULL_SAMPLES ?? 5);
/** s3rver walks (and stats) its whole folder for every listing request, so its pages slow with size. */
const S3_OBJECTS = Number(process.env.BENCH_S3_LIST_OBJECTS ?? 20_000);
const S3_SAMPLES = Number(process.env.BENCH_S3_LIST_SAMPLES ?? 10);
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'hangar-bench-list-'));
const firstLine = (child) => new Promise((r) => createInterface({ input: child.stdout }).once('line', r));
const name = (i) => `f${String(i).padStart(6, '0')}`;

async function startS3() {
  const main = new URL('../../packages/server/src/adapters/s3/s3rver-main.test-helper.mjs', import.meta.url);
  mkdirSync(join(base, 's3'), { recursive: true });
  const child = spawn(process.execPath, ['--openssl-legacy-provider', main.pathname, join(base, 's3')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const { port } = JSON.parse(await firstLine(child));
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

/** A Hangar server in its own process (`server.mjs`), file:// storage unless `storage` is given. */
async function startHangar(home, files = {}, storage = null) {
  mkdirSync(home, { recursive: true });
  const s3 = storage ? { s3: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' } } : {};
  const config = { limits: { storage_quota_files: 10_000_000, rate_limit: { requests_per_second: 0 } } };
  writeFileSync(join(home, 'hangar.config.json'), JSON.stringify({ ...config, storage: s3, files }));
  const args = storage ? [storage.url, storage.endpoint] : [];
  const child = spawn(process.execPath, [new URL('./server.mjs', import.meta.url).pathname, home, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { url, key } = JSON.parse(await firstLine(child));
  return { child, port: Number(new URL(url).port), auth: `Key ${key}` };
}

/** GET, reading the whole answer; resolves with the status, the body and the next cursor. */
function get(h, path) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: h.port, path, headers: { authorization: h.auth } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            body: Buffer.concat(chunks),
            next: res.headers['x-hangar-next-cursor'] ?? null,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** p50/p95 of `samples` timed runs of `fn` after one warm-up run. */
async function timed(samples, fn) {
  await fn();
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 50), p95: pct(times, 95), samples };
}

/** Walks every page once: checks they add up to the folder, and answers the cursor of the middle page. */
async function middleCursor(h, path, total) {
  let cursor = null;
  let seen = 0;
  let middle = null;
  for (let page = 0; ; page++) {
    const res = await get(h, `${path}?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`);
    if (res.status !== 200) throw new Error(`page answered ${res.status}: ${res.body}`);
    seen += JSON.parse(res.body).length;
    if (page === Math.floor(total / PAGE / 2) - 1) middle = res.next;
    if (!res.next) break;
    cursor = res.next;
  }
  if (seen !== total) throw new Error(`pages held ${seen} entries, expected ${total}`);
  return middle;
}

async function listRows(label, h, path, total, fullSamples, samples) {
  const check = (res) => {
    if (res.status !== 200) throw new Error(`${label}: list answered ${res.status}: ${res.body}`);
    return res;
  };
  const middle = await middleCursor(h, path, total);
  const first = await timed(samples, async () => check(await get(h, `${path}?limit=${PAGE}`)));
  const mid = await timed(samples, async () => check(await get(h, `${path}?limit=${PAGE}&cursor=${middle}`)));
  const rows = [
    { what: `${label}: first page of ${PAGE}`, ...first },
    { what: `${label}: middle page of ${PAGE} (by cursor)`, ...mid },
  ];
  if (fullSamples === 0) return rows;
  let bytes = 0;
  const full = await timed(fullSamples, async () => {
    bytes = check(await get(h, path)).body.length;
  });
  return [...rows, { what: `${label}: whole listing (${(bytes / 1e6).toFixed(1)} MB of JSON)`, ...full }];
}

const rows = [];
const load = [loadavg()[0]];

// Local disk: the owner's folder filled straight on disk (as a runner would), listed through two
// servers: the default (cache of folders' names on) and one with `files.list_cache_bytes: 0` (pages
// only: the whole listing reads every name either way).
const cached = await startHangar(join(base, 'disk'));
const uncached = await startHangar(join(base, 'disk-nocache'), { list_cache_bytes: 0 });
try {
  const dirs = [
    join(base, 'disk', 'data', 'demo', 'many'),
    join(base, 'disk-nocache', 'data', 'demo', 'many'),
  ];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < OBJECTS; i++) writeFileSync(join(dir, name(i)), 'x');
  }
  // A folder that has not changed for 2 s is cached (a change younger than that could hide in the
  // folder's timestamp granularity); this is the steady state of a large folder being read.
  await new Promise((r) => setTimeout(r, 2_500));
  rows.push({
    what: 'reference: `readdirSync` of the folder (names only, in process)',
    ...(await timed(SAMPLES, async () => readdirSync(dirs[0]))),
  });
  rows.push({
    what: 'reference: `readdir` with file types (what a listing reads, in process)',
    ...(await timed(SAMPLES, () => readdir(dirs[0], { withFileTypes: true }))),
  });
  rows.push(
    ...(await listRows(
      `disk, ${OBJECTS} files`,
      cached,
      '/v1/serverless/files/list/many',
      OBJECTS,
      FULL_SAMPLES,
      SAMPLES,
    )),
  );
  rows.push(
    ...(await listRows(
      `disk, ${OBJECTS} files, name cache off`,
      uncached,
      '/v1/serverless/files/list/many',
      OBJECTS,
      0,
      SAMPLES,
    )),
  );
} finally {
  cached.child.kill('SIGTERM');
  uncached.child.kill('SIGTERM');
}
load.push(loadavg()[0]);

// S3: objects put straight into s3rver's bucket under the owner's prefix, listed through Hangar.
let s3Seed = 0;
if (S3_OBJECTS > 0) {
  const s3 = await startS3();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const hangar = await startHangar(
    join(base, 's3-home'),
    {},
    { url: 's3://bench/hangar/', endpoint: s3.endpoint },
  );
  try {
    const t = performance.now();
    for (let i = 0; i < S3_OBJECTS; i += 64) {
      const batch = Array.from(
        { length: Math.min(64, S3_OBJECTS - i) },
        (_, j) => `hangar/files/demo/many/${name(i + j)}`,
      );
      await Promise.all(
        batch.map((Key) => client.send(new PutObjectCommand({ Bucket: 'bench', Key, Body: 'x' }))),
      );
    }
    s3Seed = (performance.now() - t) / 1000;
    rows.push(
      ...(await listRows(
        `S3 (s3rver), ${S3_OBJECTS} objects`,
        hangar,
        '/v1/serverless/files/list/many',
        S3_OBJECTS,
        Math.min(S3_SAMPLES, 3),
        S3_SAMPLES,
      )),
    );
  } finally {
    hangar.child.kill('SIGTERM');
    s3.child.stdin.end();
    s3.child.kill('SIGTERM');
  }
}
load.push(loadavg()[0]);

console.log(
  `Files list latency, ${new Date().toISOString()}, load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
);
if (S3_OBJECTS > 0) console.log(`s3rver seeded with ${S3_OBJECTS} objects in ${s3Seed.toFixed(0)} s`);
console.log('\n| listing | p50 ms | p95 ms | samples |');
console.log('| --- | --- | --- | --- |');
const ms = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
for (const r of rows) console.log(`| ${r.what} | ${ms(r.p50)} | ${ms(r.p95)} | ${r.samples} |`);
rmSync(base, { recursive: true, force: true });
