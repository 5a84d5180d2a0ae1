import type { NodeRecord } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { beatOf } from './membership-contract.test-helper.js';
import { heartbeatDemand, planPlacement } from './placement.js';

function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return { ...beatOf(id), lastHeartbeat: 0, deadAt: null, ...over };
}
const cap = (slots: number, types = ['cpu']) => ({
  machineTypes: types,
  runnerSlots: slots,
  gpus: 0,
  freeGpus: 0,
});

describe('planPlacement', () => {
  it('keeps runners where they are, then fills the node with the most free slots', () => {
    const nodes = [
      node('a', {
        capacity: cap(4),
        runners: 1,
        apps: [{ owner: 'acme', app: 'echo', machineType: 'cpu', queued: 0, inFlight: 1, runners: 1 }],
      }),
      node('b', { capacity: cap(4), runners: 0 }),
      node('c', { capacity: cap(8, ['gpu']), runners: 0 }),
    ];
    const plan = planPlacement([{ key: 'acme/echo', machineType: 'cpu', queued: 3, inFlight: 1 }], nodes);
    expect(plan).toEqual({ a: { 'acme/echo': 2 }, b: { 'acme/echo': 2 }, c: {} });
  });

  it('moves the share of a draining or dead node to the others, and stops at full capacity', () => {
    const load = { owner: 'acme', app: 'echo', machineType: 'cpu', queued: 0, inFlight: 2, runners: 2 };
    const nodes = [
      node('a', { capacity: cap(2), runners: 2, apps: [load], draining: true }),
      node('b', { capacity: cap(2), runners: 0, deadAt: 5 }),
      node('c', { capacity: cap(3), runners: 1 }),
    ];
    const plan = planPlacement([{ key: 'acme/echo', machineType: 'cpu', queued: 5, inFlight: 2 }], nodes);
    expect(plan).toEqual({ c: { 'acme/echo': 2 } });
  });

  it('sums demand over live nodes’ heartbeats', async () => {
    const load = (queued: number) => ({
      owner: 'acme',
      app: 'echo',
      machineType: 'cpu',
      queued,
      inFlight: 1,
      runners: 1,
    });
    const demand = await heartbeatDemand.demand([
      node('a', { apps: [load(2)] }),
      node('b', { apps: [load(3)] }),
      node('c', { apps: [load(7)], deadAt: 1 }),
    ]);
    expect(demand).toEqual([{ key: 'acme/echo', machineType: 'cpu', queued: 5, inFlight: 2 }]);
  });
});
