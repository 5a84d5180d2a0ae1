import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos-harness.js';
import { clusterMissing } from './cluster.js';

if (clusterMissing) console.log(`cluster chaos skipped: ${clusterMissing}`);

describe.skipIf(clusterMissing !== null)('the cluster under injected faults (bounded chaos run)', () => {
  it('ends every accepted request once and meters every runner to its lifetime', async () => {
    const report = await runChaos({
      nodes: 3,
      durationMs: 90_000,
      faultsPerS: 0.4,
      runnerKillsPerS: 0.5,
      requestsPerS: 8,
    });
    console.log(JSON.stringify({ ...report, violations: report.violations.slice(0, 20) }));
    const injected = Object.values(report.faults).reduce((a, b) => a + b, 0);
    expect(injected).toBeGreaterThanOrEqual(20);
    expect(report.faults.node).toBeGreaterThan(0);
    expect(report.faults.runner).toBeGreaterThan(0);
    expect(report.accepted).toBeGreaterThan(100);
    expect(report.violations).toEqual([]);
  }, 420_000);
});
