// Realtime round-trip latency: one WebSocket sends a 64-byte binary frame and waits for its echo, in a
// loop, through Hangar (key auth, examples/realtime-echo-node deployed) and directly to the same app
// started by hand on another port. Not a test: prints a Markdown report.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = 500;
const root = new URL('../../', import.meta.url).pathname;
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'hangar-bench-realtime-'));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM');
});
const server = spawn(process.execPath, [join(root, 'bench/storage/server.mjs'), join(base, 'home')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
children.push(server);
const { url, key } = JSON.parse(
  await new Promise((resolve) => createInterface({ input: server.stdout }).once('line', resolve)),
);
const cli = join(root, 'packages/cli/dist/main.js');
execFileSync(
  process.execPath,
  [cli, '--url', url, '--key', key, 'deploy', join(root, 'examples/realtime-echo-node')],
  {
    stdio: 'ignore',
  },
);
// The bench server's admin key belongs to the default owner.
const owner = process.env.BENCH_OWNER ?? 'demo';
const directPort = await freePort();
const direct = spawn(process.execPath, ['server.mjs'], {
  cwd: join(root, 'examples/realtime-echo-node'),
  env: { ...process.env, PORT: String(directPort) },
  stdio: 'ignore',
});
children.push(direct);

function open(target, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { headers, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function openRetrying(target, headers) {
  for (let i = 0; ; i++) {
    try {
      return await open(target, headers);
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Round-trip times in µs of `n` sequential echoes on `ws`. */
function measure(ws, n) {
  const payload = randomBytes(64);
  const times = new Float64Array(n);
  return new Promise((resolve) => {
    let i = 0;
    let t0 = 0;
    const next = () => {
      t0 = performance.now();
      ws.send(payload);
    };
    ws.on('message', () => {
      times[i++] = (performance.now() - t0) * 1000;
      if (i === n) {
        ws.removeAllListeners('message');
        resolve(times.sort());
      } else next();
    });
    next();
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const targets = {
  'through Hangar (`/run/{owner}/realtime-echo/realtime`, key auth)': () =>
    openRetrying(`${url.replace(/^http/, 'ws')}/run/${owner}/realtime-echo/realtime`, {
      authorization: `Key ${key}`,
    }),
  'direct to the app (same app, own process)': () =>
    openRetrying(`ws://127.0.0.1:${directPort}/realtime`, {}),
};
const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, connect] of Object.entries(targets)) {
    const ws = await connect();
    await measure(ws, WARMUP);
    results[name].push(await measure(ws, ROUND_TRIPS));
    ws.close();
  }
}

console.log(`| path | p50 µs | p99 µs |\n| --- | --- | --- |`);
for (const [name, runs] of Object.entries(results)) {
  const all = Float64Array.from(runs.flatMap((r) => [...r])).sort();
  console.log(`| ${name} | ${pct(all, 50).toFixed(0)} | ${pct(all, 99).toFixed(0)} |`);
}
console.log(
  `\n${ROUNDS} rounds × ${ROUND_TRIPS} round trips of a 64-byte binary frame per path, alternating.`,
);
direct.kill('SIGTERM');
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(base, { recursive: true, force: true });
