// Leader failover: N nodes' elections (each its own process and Redis connection) over a real
// redis-server; the leader is killed with SIGKILL and the time until another node holds the lease is
// measured, ROUNDS times. Reference in the same run: the bound the lease gives (lease_ms + renew_ms).
//   npm run build && node bench/cluster/failover.mjs [rounds=10] [nodes=3] [lease_ms=5000] [renew_ms=1000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [rounds = 10, nodes = 3, leaseMs = 5000, renewMs = 1000] = process.argv.slice(2).map(Number);
const DIST = fileURLToPath(new URL('../../packages/server/dist/cluster/', import.meta.url));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// One node: runs its election every renew_ms and prints `leader <ms since epoch>` when it takes the lease.
const NODE = `
const { createElection } = await import(${JSON.stringify(`${DIST}election.js`)});
const { openRedis } = await import(${JSON.stringify(`${DIST}redis.js`)});
const { createRedisMembership } = await import(${JSON.stringify(`${DIST}redis-membership.js`)});
const [url, id, lease, renew] = process.argv.slice(1);
const e = createElection({
  membership: createRedisMembership(openRedis(url, { name: 'hangar:' + id + ':bench' })),
  nodeId: id, leaseMs: Number(lease), now: Date.now,
  onChange: (l) => { if (l) process.stdout.write('leader ' + Date.now() + '\\n'); },
});
const loop = async () => { await e.tick(); setTimeout(loop, Number(renew)); };
loop();
`;

function startNode(url, id) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', NODE, url, id, leaseMs, renewMs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.led = null;
  child.stdout.on('data', (b) => {
    const m = /leader (\d+)/.exec(String(b));
    if (m) child.led = Number(m[1]);
  });
  return child;
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'hangar-failover-'));
const redis = spawn(
  'redis-server',
  [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 500));
const url = `redis://127.0.0.1:${port}`;
const live = [];
for (let i = 0; i < nodes; i++) live.push(startNode(url, `n${i}`));
let next = nodes;
const waitLeader = async (among) => {
  for (;;) {
    const l = among.find((c) => c.led !== null);
    if (l) return l;
    await new Promise((r) => setTimeout(r, 20));
  }
};
const takeovers = [];
for (let round = 0; round < rounds; round++) {
  const leader = await waitLeader(live);
  live.splice(live.indexOf(leader), 1);
  const killedAt = Date.now();
  leader.kill('SIGKILL');
  const heir = await waitLeader(live);
  takeovers.push(heir.led - killedAt);
  live.push(startNode(url, `n${next++}`));
}
for (const c of live) c.kill('SIGKILL');
redis.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
takeovers.sort((a, b) => a - b);
const q = (p) => takeovers[Math.min(takeovers.length - 1, Math.floor(p * takeovers.length))];
const bound = leaseMs + renewMs;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; node ${process.version}`);
console.log(`nodes ${nodes}, lease ${leaseMs} ms, renew ${renewMs} ms, ${rounds} SIGKILLs of the leader`);
console.log(`takeover ms: min ${takeovers[0]}, median ${q(0.5)}, max ${takeovers.at(-1)}`);
console.log(
  `reference bound lease+renew = ${bound} ms; max/bound = ${(takeovers.at(-1) / bound).toFixed(2)}`,
);
