// Runner cold start with and without the sandbox, measured in one run (npm run bench:sandbox).
// Each sample starts examples/echo-node through a runner driver and polls its health path until it
// answers 200; the drivers alternate so machine drift hits both alike. Prints JSON.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProcessRunnerDriver } from '../../packages/server/dist/runners/process-driver.js';
import { chooseIsolation } from '../../packages/server/dist/runners/sandbox/index.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const APP = resolve(fileURLToPath(new URL('../../examples/echo-node', import.meta.url)));
const home = mkdtempSync(join(tmpdir(), 'hangar-coldstart-'));
mkdirSync(join(home, 'data', 'bench'), { recursive: true });

const isolation = chooseIsolation({
  isolation: 'sandbox',
  settings: {
    memoryBytes: 1024 * 1024 * 1024,
    pidsMax: 256,
    nofile: 4096,
    tmpBytes: 64 * 1024 * 1024,
    uidBase: 310_000,
    roPaths: [],
    egress: 'none',
    egressAllowlist: [],
  },
  stateDir: join(home, 'sandbox'),
  searchPath: process.env.PATH ?? '',
});
const drivers = { plain: createProcessRunnerDriver(), sandbox: isolation.driver };

async function once(driver, n) {
  const t0 = performance.now();
  const handle = await driver.start(
    {
      runnerId: `cold-${n}`,
      owner: 'bench',
      app: 'echo',
      revisionId: 'r',
      dir: APP,
      dataDir: join(home, 'data', 'bench'),
      command: ['node', 'server.mjs'],
      env: {},
    },
    { onLine() {}, onExit() {} },
  );
  const started = performance.now();
  for (;;) {
    const ok = await fetch(`${handle.url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const ready = performance.now();
  await handle.stop(2000);
  return { start: started - t0, ready: ready - t0 };
}

const samples = { plain: [], sandbox: [] };
for (let i = 0; i < SAMPLES + 2; i++) {
  for (const name of i % 2 ? ['sandbox', 'plain'] : ['plain', 'sandbox']) {
    const s = await once(drivers[name], `${name}-${i}`);
    if (i >= 2) samples[name].push(s); // the first two rounds warm the page cache
  }
}
const q = (xs, p) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))];
};
const summary = (name) => ({
  median_ms: +q(
    samples[name].map((s) => s.ready),
    0.5,
  ).toFixed(1),
  p90_ms: +q(
    samples[name].map((s) => s.ready),
    0.9,
  ).toFixed(1),
  driver_start_median_ms: +q(
    samples[name].map((s) => s.start),
    0.5,
  ).toFixed(1),
});
const plain = summary('plain');
const sandbox = summary('sandbox');
console.log(
  JSON.stringify({
    samples: SAMPLES,
    plain,
    sandbox,
    added_median_ms: +(sandbox.median_ms - plain.median_ms).toFixed(1),
    added_p90_ms: +(sandbox.p90_ms - plain.p90_ms).toFixed(1),
  }),
);
rmSync(home, { recursive: true, force: true });
process.exit(0);
