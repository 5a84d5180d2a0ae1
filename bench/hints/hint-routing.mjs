// Runner-hint routing: an app whose runners each keep one "model" loaded and pay 500 ms to load another,
// called through Hangar's /run with X-Fal-Runner-Hint naming the model, then the same workload without
// the header (the reference, same run). Reports the hint hit rate (Hangar's own counter), the model loads
// the app saw, and latency percentiles. Not a test: prints a Markdown report.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 3);
const RUNNERS = 4;
const MODELS = ['flux-dev', 'flux-schnell', 'sdxl', 'lora-42'];
const LOAD_MS = 500;
const root = new URL('../../', import.meta.url).pathname;
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'hangar-bench-hints-'));

const APP = `
import http from 'node:http';
const LOAD_MS = ${LOAD_MS};
let loaded = null;
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/health') { res.end('ok'); return; }
    const { model } = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const miss = loaded !== model;
    setTimeout(() => {
      loaded = model;
      const body = JSON.stringify({ model, loaded: miss });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-fal-runner-hints': loaded,
      });
      res.end(body);
    }, (miss ? LOAD_MS : 0) + 20);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const appDir = join(base, 'app');
execFileSync('mkdir', ['-p', appDir]);
writeFileSync(join(appDir, 'app.mjs'), APP);
writeFileSync(
  join(appDir, 'hangar.json'),
  JSON.stringify({
    name: 'hinted',
    command: ['node', 'app.mjs'],
    machine_type: 'CPU',
    min_concurrency: RUNNERS,
    max_concurrency: RUNNERS,
    max_multiplexing: 1,
    keep_alive: 600,
  }),
);

const server = spawn(process.execPath, [join(root, 'bench/storage/server.mjs'), join(base, 'home')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => server.kill('SIGTERM'));
const { url, key } = JSON.parse(
  await new Promise((resolve) => createInterface({ input: server.stdout }).once('line', resolve)),
);
const cli = join(root, 'packages/cli/dist/main.js');
execFileSync(process.execPath, [cli, '--url', url, '--key', key, 'deploy', appDir], { stdio: 'ignore' });
const owner = process.env.BENCH_OWNER ?? 'demo';
const auth = { authorization: `Key ${key}` };

async function call(model, hinted) {
  const headers = { ...auth, 'content-type': 'application/json' };
  if (hinted) headers['x-fal-runner-hint'] = model;
  const t0 = performance.now();
  const res = await fetch(`${url}/run/${owner}/hinted`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return { ms: performance.now() - t0, loaded: body.loaded };
}

async function hintCounts() {
  const text = await (await fetch(`${url}/v1/serverless/metrics`, { headers: auth })).text();
  const read = (result) =>
    Number(
      text.match(
        new RegExp(`hangar_app_runner_hint_routing_total\\{[^}]*result="${result}"\\} (\\d+)`),
      )?.[1] ?? 0,
    );
  return { hits: read('hit'), misses: read('miss') };
}

// A fixed pseudo-random model sequence, the same for both modes.
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const sequence = Array.from({ length: REQUESTS }, () => MODELS[Math.floor(rand() * MODELS.length)]);

async function run(hinted) {
  // Warm every runner up (and give each a model) before measuring.
  await Promise.all(MODELS.map((m) => call(m, false)));
  const before = await hintCounts();
  let next = 0;
  const samples = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < sequence.length) samples.push(await call(sequence[next++], hinted));
    }),
  );
  const after = await hintCounts();
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const pct = (p) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))];
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return {
    loads: samples.filter((s) => s.loaded).length,
    hitRate: hits + misses === 0 ? null : hits / (hits + misses),
    p50: pct(50),
    p90: pct(90),
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

const load = loadavg()[0].toFixed(1);
const without = await run(false);
const withHints = await run(true);
const fmt = (n) => n.toFixed(0);
console.log(
  `Machine: ${cpus().length} vCPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load ${load}`,
);
console.log(
  `${REQUESTS} requests per mode from ${CLIENTS} clients, ${RUNNERS} runners, ${MODELS.length} models,`,
);
console.log(`${LOAD_MS} ms model load on a miss + 20 ms of work.\n`);
console.log('| mode | hint hit rate | model loads | p50 ms | p90 ms | mean ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [name, r] of [
  ['X-Fal-Runner-Hint = model', withHints],
  ['no hint (reference)', without],
]) {
  const rate = r.hitRate === null ? '—' : `${(r.hitRate * 100).toFixed(0)} %`;
  console.log(
    `| ${name} | ${rate} | ${r.loads} / ${REQUESTS} | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.mean)} |`,
  );
}
console.log(`\np50 with hints / without: ${(withHints.p50 / without.p50).toFixed(2)}`);
process.exit(0);
