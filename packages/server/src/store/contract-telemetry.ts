import type { MeterRecord, Stores } from '@hangar/core';
import { expect, it } from 'vitest';
import type { StoresHarness } from './contract.js';
import { logFixture, runnerFixture } from './fixtures.js';

/**
 * The contract cases of the telemetry stores (log lines, the runner registry, the meter), registered inside
 * `describeStoresContract`; `current` gives the harness and stores of the running case.
 */
export function describeTelemetryCases(current: () => { h: StoresHarness; s: Stores }): void {
  // An adapter may assign ids at append (one writer) or at commit (a database sequence, several nodes):
  // ids are set once the lines are flushed, consecutive within one append, increasing across appends.
  it('assigns increasing log ids by commit and lists a request after a cursor', async () => {
    const { s } = current();
    const first = [logFixture('req1', 'a'), logFixture('req2', 'b'), logFixture('req1', 'c')];
    s.logs.append(first);
    await s.flush();
    const ids = first.map((l) => l.id!);
    expect(ids[0]).toBeGreaterThan(0);
    expect(ids).toEqual([ids[0], ids[0]! + 1, ids[0]! + 2]);
    const second = [logFixture('req1', 'd')];
    s.logs.append(second);
    await s.flush();
    expect(second[0]!.id).toBeGreaterThan(ids[2]!);
    const all = await s.logs.listByRequest('req1');
    expect(all.map((l) => l.message)).toEqual(['a', 'c', 'd']);
    expect(all[0]).toEqual(first[0]);
    const after = await s.logs.listByRequest('req1', ids[2]);
    expect(after.map((l) => l.message)).toEqual(['d']);
  });

  it("keeps a runner's node and meter fields, so a leader can close a dead node's runners", async () => {
    const { s } = current();
    const placed = { nodeId: 'node-b', environment: 'main', isSurge: true };
    s.runners.upsertRunner(runnerFixture('n1', placed));
    s.runners.upsertRunner(runnerFixture('n2', { nodeId: 'node-a', isSurge: false }));
    expect(await s.runners.findRunner('acme', 'echo', 'n1')).toEqual(runnerFixture('n1', placed));
    const live = await s.runners.listLiveRunners();
    expect(live.map((r) => [r.runnerId, r.nodeId, r.isSurge])).toEqual([
      ['n1', 'node-b', true],
      ['n2', 'node-a', false],
    ]);
  });

  it('finds one runner of an app, alive or ended, with its state times', async () => {
    const { s } = current();
    s.runners.upsertRunner(runnerFixture('r1'));
    const ended = runnerFixture('r1', {
      state: 'terminated',
      endedAt: 3_000,
      stateSince: 3_000,
      times: { seconds: { idle: 1.5, terminating: 0.3 }, timeline: [{ state: 'terminated', at: 3_000 }] },
    });
    s.runners.upsertRunner(ended);
    expect(await s.runners.findRunner('acme', 'echo', 'r1')).toEqual(ended);
    expect(await s.runners.findRunner('acme', 'other', 'r1')).toBeNull();
    expect(await s.runners.findRunner('acme', 'echo', 'nope')).toBeNull();
  });

  it("keeps a runner's sampled GPU usage (runner history), and none for a runner without GPUs", async () => {
    const { s } = current();
    const gpus = [
      {
        uuid: 'GPU-00000000-0000-0000-0000-000000000003',
        samples: 4,
        lastAt: 2_500,
        memoryUsedMb: 1030,
        memoryPeakMb: 40_000,
        utilizationPct: 30,
        utilizationAvgPct: 62.5,
      },
    ];
    s.runners.upsertRunner(runnerFixture('g1', { gpus }));
    s.runners.upsertRunner(runnerFixture('g2'));
    expect((await s.runners.findRunner('acme', 'echo', 'g1'))?.gpus).toEqual(gpus);
    expect((await s.runners.findRunner('acme', 'echo', 'g2'))?.gpus ?? []).toEqual([]);
  });

  it('lists live runners with their latest state', async () => {
    const { s } = current();
    s.runners.upsertRunner(runnerFixture('r1'));
    s.runners.upsertRunner(runnerFixture('r2', { startedAt: 500 }));
    s.runners.upsertRunner(runnerFixture('r3'));
    s.runners.upsertRunner(runnerFixture('r1', { state: 'running', meteredUntil: 2_000 }));
    s.runners.upsertRunner(runnerFixture('r3', { state: 'terminated', endedAt: 3_000 }));
    expect(await s.runners.listLiveRunners()).toEqual([
      runnerFixture('r2', { startedAt: 500 }),
      runnerFixture('r1', { state: 'running', meteredUntil: 2_000 }),
    ]);
  });

  it('meters each (runner, minute) once, the latest value winning', async (ctx) => {
    const { h, s } = current();
    if (!h.meterRows) return ctx.skip();
    const row: MeterRecord = {
      runnerId: 'r1',
      minute: 60_000,
      owner: 'acme',
      app: 'echo',
      environment: 'main',
      machineType: 'GPU-H100',
      isSurge: false,
      seconds: 12,
    };
    s.meter.record([row, { ...row, minute: 120_000, seconds: 3 }]);
    s.meter.record([{ ...row, seconds: 60 }]);
    s.events.append({
      eventId: 'e1',
      owner: 'acme',
      app: 'echo',
      category: 'runner_started',
      createdAt: 1,
      payload: {},
    });
    s.samples.append([
      { ts: 1, owner: 'acme', app: 'echo', pending: 0, setup: 0, idle: 1, running: 0, draining: 0 },
    ]);
    await s.flush();
    const rows = (await h.meterRows()).sort((a, b) => a.minute - b.minute);
    expect(rows).toEqual([
      { ...row, seconds: 60 },
      { ...row, minute: 120_000, seconds: 3 },
    ]);
  });
}
