// The reliability harness (see test/e2e/chaos-harness.ts): a cluster of real `hangar serve` processes on a
// real PostgreSQL and Redis under steady queued load, with runner kills, node kills (-9, then restart),
// PostgreSQL and Redis restarts injected at random; then every accepted request must be recorded once and
// finished, and Σ metered machine-seconds must equal Σ runner lifetimes (±1 s per runner).
//
//   npm run build && npx tsx bench/cluster/chaos.ts [duration_s=600] [faults_per_s=1] [nodes=3] [requests_per_s=8]
//   CHAOS_FAULTS=runner,node npx tsx bench/cluster/chaos.ts …   (only these kinds: runner, node, postgres, redis)
//   CHAOS_RUNNER_KILLS_PER_S=1 npx tsx bench/cluster/chaos.ts …  (runner kills on a stream of their own)
import { cpus } from 'node:os';
import { type Fault, runChaos } from '../../test/e2e/chaos-harness.js';
import { clusterMissing } from '../../test/e2e/cluster.js';

const [duration = 600, rate = 1, nodes = 3, rps = 8] = process.argv.slice(2).map(Number);
if (clusterMissing) {
  console.error(`cannot run: ${clusterMissing}`);
  process.exit(2);
}
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${nodes} nodes, ${duration} s, ${rate} faults/s, ${rps} requests/s, runner kills/s: ${process.env.CHAOS_RUNNER_KILLS_PER_S ?? 'drawn with the others'}`,
);
const t0 = Date.now();
const report = await runChaos({
  nodes,
  durationMs: duration * 1000,
  faultsPerS: rate,
  requestsPerS: rps,
  ...(process.env.CHAOS_FAULTS ? { kinds: process.env.CHAOS_FAULTS.split(',') as Fault[] } : {}),
  ...(process.env.CHAOS_RUNNER_KILLS_PER_S
    ? { runnerKillsPerS: Number(process.env.CHAOS_RUNNER_KILLS_PER_S) }
    : {}),
  log: (line) => console.log(`${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s  ${line}`),
});
const injected = Object.values(report.faults).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ ...report, injected, violations: report.violations.length }, null, 1));
for (const v of report.violations.slice(0, 50)) console.log(`violation: ${v}`);
process.exit(report.violations.length === 0 ? 0 : 1);
