// Scale from zero on the fake Kubernetes driver, beside the local process driver and a direct start of
// the same app, in one run. Not a test: prints a Markdown report (run with `npm run bench:scale-k8s`).
//
// The runner pool runs in this process (as in the driver's pool tests), once over the local process
// driver (no sandbox) and once over the Kubernetes driver talking to the in-process FAKE API server
// (packages/server/src/adapters/kubernetes/fake-*.test-helper.ts). The fake "runs" a Pod by starting its
// init container (curl | tar of the bundle from a local HTTP server) and then its container as local
// processes: the numbers are Hangar's driver, watch and readiness overhead on top of a local start, NOT
// a cluster's scheduling, image pulls, volume mounts or Pod networking.
//
// Each round waits until the app has no runner (keep_alive 1 s), then times one dispatched call from
// the dispatch to its answer (a 2-byte body, so first byte ≈ answer); PENDING and SETUP come from the
// runner's recorded state times, "first request" is the rest. Direct: spawn the app, poll its port,
// time spawn → first byte.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { RunnerDriver } from '@hangar/core';
import { kubeBed } from '../../packages/server/src/adapters/kubernetes/driver.test-helper.js';
import {
  harness,
  manifest,
  request,
  revision,
} from '../../packages/server/src/runners/supervisor.test-helper.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SETUP_MS = Number(process.env.BENCH_SETUP_MS ?? 2000);
const WORK_MS = 200;

const APP = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  req.resume();
  req.on('end', () => setTimeout(() => res.end('{}'), Number(process.env.WORK_MS ?? 0)));
});
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), Number(process.env.SETUP_MS ?? 0));
process.on('SIGTERM', () => process.exit(0));
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<void> | void> = [];
const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-k8s-'));
cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'app.mjs'), APP);
const env = { SETUP_MS: String(SETUP_MS), WORK_MS: String(WORK_MS) };

interface Round {
  total: number;
  pending: number;
  setup: number;
  rest: number;
}

/** ROUNDS cold calls through a pool over `driver`; `bundle` is the revision's digest (Kubernetes). */
async function poolRounds(driver: RunnerDriver | null, bundle: string | null): Promise<Round[]> {
  // The server's own loop intervals (health poll 100 ms), not the tests' faster ones.
  const h = harness({
    ...(driver ? { driver } : {}),
    healthIntervalMs: 100,
    nodeId: 'bench',
    sampleIntervalMs: 5000,
    meterIntervalMs: 5000,
  });
  cleanups.push(
    () => h.sup.close(5000),
    () => rmSync(h.dataRoot, { recursive: true, force: true }),
  );
  const { app, rev } = revision(
    dir,
    manifest({ name: 'cold', min_concurrency: 0, keep_alive: 1, startup_timeout: 120, env }),
  );
  rev.bundle = bundle;
  await h.sup.deploy(app, rev);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    while (h.sup.runners('alice', 'cold').length > 0) await sleep(100);
    const t0 = performance.now();
    const res = await h.sup.dispatch(request('cold', {}, { timeoutMs: 120_000 }));
    const total = performance.now() - t0;
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.body.toString()}`);
    const runnerId = res.runnerId as string;
    const row = h.stores.snapshot().runners.find((r) => r.runnerId === runnerId);
    const s = row?.times.seconds ?? {};
    const pending = ((s.pending ?? 0) + (s.docker_pull ?? 0)) * 1000;
    const setup = (s.setup ?? 0) * 1000;
    rounds.push({ total, pending, setup, rest: total - pending - setup });
  }
  return rounds;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function directRound(): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['app.mjs'], {
    cwd: dir,
    env: { PATH: process.env['PATH'], PORT: String(port), ...env },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
        await res.body?.getReader().read();
        if (res.status === 200) return performance.now() - t0;
      } catch {
        await sleep(20);
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
}

const load = loadavg()[0]?.toFixed(1);
const bed = await kubeBed(dir, cleanups);
const direct: number[] = [];
for (let i = 0; i < ROUNDS; i++) direct.push(await directRound());
const processRounds = await poolRounds(null, null);
const kubeRounds = await poolRounds(bed.driver(), bed.bundle.digest);
for (const c of cleanups.reverse()) await c();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const f = (n: number) => n.toFixed(0);
const row = (label: string, rs: Round[]) => {
  const m = (k: keyof Round) => f(median(rs.map((r) => r[k])));
  return `| ${label} | ${m('total')} | ${m('pending')} | ${m('setup')} | ${m('rest')} |`;
};
console.log(
  `Machine: ${cpus().length} vCPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${load} before the run`,
);
console.log(
  `App setup ${SETUP_MS} ms before its port opens, ${WORK_MS} ms of work per call; ${ROUNDS} rounds.\n`,
);
console.log('| scale from zero (ms, median) | dispatch → answer | PENDING | SETUP | first request (rest) |');
console.log('| --- | --- | --- | --- | --- |');
console.log(row('pool, local process driver (no sandbox)', processRounds));
console.log(row('pool, Kubernetes driver on the fake API server', kubeRounds));
console.log(`| direct start (spawn → first byte, reference) | ${f(median(direct))} | — | — | — |`);
console.log(
  `\nRatios to direct: process ${(median(processRounds.map((r) => r.total)) / median(direct)).toFixed(2)}, ` +
    `fake Kubernetes ${(median(kubeRounds.map((r) => r.total)) / median(direct)).toFixed(2)}`,
);
console.log(
  `Rounds (ms): process ${processRounds.map((r) => f(r.total)).join(', ')}; fake Kubernetes ${kubeRounds
    .map((r) => f(r.total))
    .join(', ')}; direct ${direct.map(f).join(', ')}`,
);
process.exit(0);
