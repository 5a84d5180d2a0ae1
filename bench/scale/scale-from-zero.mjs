// Scale from zero and the autoscaler's reaction to a burst, on a Hangar server in its own process (the
// local process driver, in the runner sandbox when the host has one). Not a test: prints a Markdown report.
//
// 1. Scale from zero: an app with min_concurrency 0 whose setup takes SETUP_MS (a model loading) before
//    its port opens. Each round waits until no runner is left, then times one /run call from sending to
//    the first byte of the answer, and reads the runner's recorded state times (PENDING, SETUP) from
//    GET /v1/serverless/apps/{owner}/{app}/runners/{id}. The reference, same run: the same app started
//    directly (spawned) and called once its port answers, timed from spawn to the first byte.
// 2. Burst: BURST queued calls against zero runners (max_concurrency RUNNERS): time from the submits to
//    the first and to the last runner ready (from the runners' timelines), and to the last answer.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SETUP_MS = Number(process.env.BENCH_SETUP_MS ?? 2000);
const BURST = Number(process.env.BENCH_BURST ?? 16);
const RUNNERS = Number(process.env.BENCH_RUNNERS ?? 4);
const WORK_MS = 200;
const root = new URL('../../', import.meta.url).pathname;
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'hangar-bench-scale-'));

const APP = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  req.resume();
  req.on('end', () => setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ runner: process.env.HANGAR_RUNNER_ID ?? null }));
  }, Number(process.env.WORK_MS ?? 0)));
});
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), Number(process.env.SETUP_MS ?? 0));
process.on('SIGTERM', () => process.exit(0));
`;

function writeApp(name, manifest) {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.mjs'), APP);
  writeFileSync(
    join(dir, 'hangar.json'),
    JSON.stringify({
      name,
      command: ['node', 'app.mjs'],
      machine_type: 'CPU',
      min_concurrency: 0,
      max_multiplexing: 1,
      keep_alive: 1,
      startup_timeout: 120,
      env: { SETUP_MS: String(SETUP_MS), WORK_MS: String(WORK_MS) },
      ...manifest,
    }),
  );
  return dir;
}

const server = spawn(process.execPath, [join(root, 'bench/storage/server.mjs'), join(base, 'home')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => server.kill('SIGTERM'));
const { url, key } = JSON.parse(
  await new Promise((resolve) => createInterface({ input: server.stdout }).once('line', resolve)),
);
const cli = join(root, 'packages/cli/dist/main.js');
const deploy = (dir) =>
  execFileSync(process.execPath, [cli, '--url', url, '--key', key, 'deploy', dir], { stdio: 'ignore' });
const owner = process.env.BENCH_OWNER ?? 'demo';
const auth = { authorization: `Key ${key}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const api = async (path) =>
  (await fetch(`${url}/v1/serverless/apps/${owner}/${path}`, { headers: auth })).json();

async function waitZero(app) {
  for (;;) {
    const { runners } = await api(`${app}/runners`);
    if (runners.length === 0) return;
    await sleep(200);
  }
}

/** Sends one call and resolves at the first byte of the answer (the body is then read). */
async function firstByte(target, init) {
  const t0 = performance.now();
  const res = await fetch(target, init);
  const reader = res.body.getReader();
  const first = await reader.read();
  const ms = performance.now() - t0;
  let text = Buffer.from(first.value ?? []).toString();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  return { ms, status: res.status, body: text };
}

async function hangarRound() {
  await waitZero('cold');
  const r = await firstByte(`${url}/run/${owner}/cold`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: '{}',
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body}`);
  const { runner } = JSON.parse(r.body);
  const detail = (await api(`cold/runners/${runner}`)).runner;
  const t = detail.time_in_states;
  const pendingMs = (t.pending ?? 0) * 1000;
  const setupMs = (t.setup ?? 0) * 1000;
  return { total: r.ms, pending: pendingMs, setup: setupMs, rest: r.ms - pendingMs - setupMs };
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function directRound() {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['app.mjs'], {
    cwd: join(base, 'cold'),
    env: { PATH: process.env.PATH, PORT: String(port), SETUP_MS: String(SETUP_MS), WORK_MS: String(WORK_MS) },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const r = await firstByte(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
        if (r.status === 200) return performance.now() - t0;
      } catch {
        await sleep(20);
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
}

async function burst() {
  await waitZero('burst');
  const t0 = Date.now();
  const submits = await Promise.all(
    Array.from({ length: BURST }, () =>
      fetch(`${url}/queue/${owner}/burst`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      }).then((r) => r.json()),
    ),
  );
  const seen = new Map();
  let lastAnswer = 0;
  const pending = new Set(submits.map((s) => s.request_id));
  while (pending.size > 0) {
    for (const r of (await api('burst/runners')).runners) seen.set(r.runner_id, r);
    for (const id of [...pending]) {
      const s = await (
        await fetch(`${url}/queue/${owner}/burst/requests/${id}/status`, { headers: auth })
      ).json();
      if (s.status === 'COMPLETED') {
        pending.delete(id);
        lastAnswer = Date.now() - t0;
      }
    }
    await sleep(50);
  }
  const readyAt = [];
  for (const id of seen.keys()) {
    const { runner } = await api(`burst/runners/${id}`);
    const ready = runner.timeline.find((t) => t.state === 'idle');
    if (ready) readyAt.push(Date.parse(ready.at) - t0);
  }
  readyAt.sort((a, b) => a - b);
  return { runners: seen.size, first: readyAt[0], last: readyAt[readyAt.length - 1], lastAnswer };
}

deploy(writeApp('cold', { max_concurrency: 1 }));
deploy(writeApp('burst', { max_concurrency: RUNNERS, env: { SETUP_MS: String(SETUP_MS), WORK_MS: '500' } }));
const load = loadavg()[0].toFixed(1);
const hangar = [];
const direct = [];
for (let i = 0; i < ROUNDS; i++) {
  hangar.push(await hangarRound());
  direct.push(await directRound());
}
const bursts = [await burst(), await burst()];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const f = (n) => (n === undefined ? '—' : n.toFixed(0));
console.log(
  `Machine: ${cpus().length} vCPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${load} before the run`,
);
console.log(
  `App setup ${SETUP_MS} ms before its port opens, ${WORK_MS} ms of work per call; ${ROUNDS} rounds.\n`,
);
console.log(
  '| scale from zero (ms, median) | total to first byte | PENDING | SETUP | first request (rest) |',
);
console.log('| --- | --- | --- | --- | --- |');
const m = (k) => median(hangar.map((h) => h[k]));
console.log(
  `| Hangar /run, process driver | ${f(m('total'))} | ${f(m('pending'))} | ${f(m('setup'))} | ${f(m('rest'))} |`,
);
console.log(`| direct start (spawn → first byte, reference) | ${f(median(direct))} | — | — | — |`);
console.log(`\nRatio Hangar / direct: ${(m('total') / median(direct)).toFixed(2)}`);
console.log(
  `Rounds (total ms): Hangar ${hangar.map((h) => f(h.total)).join(', ')}; direct ${direct.map(f).join(', ')}\n`,
);
console.log(
  `| burst of ${BURST} queued calls from zero (ms) | runners started | first runner ready | last runner ready | last answer |`,
);
console.log('| --- | --- | --- | --- | --- |');
for (const [i, b] of bursts.entries()) {
  console.log(`| run ${i + 1} | ${b.runners} | ${f(b.first)} | ${f(b.last)} | ${f(b.lastAnswer)} |`);
}
process.exit(0);
