import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClusterMembership } from '@hangar/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../test-services/ports.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../test-services/redis.test-helper.js';
import { createElection } from './election.js';
import { describeMembershipContract } from './membership-contract.test-helper.js';
import { openRedis } from './redis.js';
import { createRedisMembership } from './redis-membership.js';

const FIXTURE = fileURLToPath(new URL('./lease-holder.test-helper.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../..', import.meta.url));

/** A lease holder in its own process, with the JSON lines it printed. */
function spawnHolder(url: string, nodeId: string, leaseMs: number, renewMs: number) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, url, nodeId, String(leaseMs), String(renewMs)],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: { event: string; token: number; ok?: boolean }[] = [];
  let buf = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  return { child, lines };
}

describe.skipIf(redisMissing !== null)('Redis membership', () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  const connect = (name: string) => {
    const r = openRedis(server.url, { name: `hangar:${name}:test` });
    conns.push(r);
    return r;
  };
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await server?.close();
  });

  describeMembershipContract('redis', async () => {
    const views = ['a', 'b', 'c'].map((n) => connect(n));
    await views[0]!.flushdb();
    return { views: views.map(createRedisMembership), close: async () => {} };
  });

  it('lets another node take the lease within 10 s after the holder is killed with SIGKILL', async () => {
    await connect('flush').flushdb();
    const holder = spawnHolder(server.url, 'doomed', 5_000, 1_000);
    await waitFor(() => holder.lines.some((l) => l.event === 'leader'), {
      timeoutMs: 20_000,
      what: 'a leader',
    });
    const heir = createElection({
      membership: createRedisMembership(connect('heir')),
      nodeId: 'heir',
      leaseMs: 5_000,
      now: Date.now,
    });
    await heir.tick();
    expect(heir.current()).toBeNull();
    holder.child.kill('SIGKILL');
    await waitFor(
      async () => {
        await heir.tick();
        return heir.current() !== null;
      },
      { timeoutMs: 10_000, what: 'the heir to take the lease', intervalMs: 1_000 },
    );
    const firstToken = holder.lines.find((l) => l.event === 'leader')!.token;
    expect(heir.current()!.token).toBeGreaterThan(firstToken);
  }, 40_000);

  it('refuses the actions of a leader that was frozen past its lease, and it learns it lost', async () => {
    await connect('flush2').flushdb();
    const holder = spawnHolder(server.url, 'frozen', 1_500, 300);
    await waitFor(() => holder.lines.some((l) => l.event === 'action' && l.ok === true), {
      timeoutMs: 20_000,
      what: 'the holder to act as leader',
    });
    const stale = holder.lines.find((l) => l.event === 'leader')!.token;
    holder.child.kill('SIGSTOP');
    const membership: ClusterMembership = createRedisMembership(connect('heir2'));
    let heir: Awaited<ReturnType<ClusterMembership['campaign']>> = null;
    await waitFor(
      async () => {
        heir = await membership.campaign('heir2', 60_000, null);
        return heir !== null;
      },
      { timeoutMs: 10_000, what: 'the lease to run out', intervalMs: 200 },
    );
    expect(await membership.publishTargets(heir!, { heir2: { 'acme/echo': 3 } }, 1)).toBe(true);
    const seen = holder.lines.length;
    holder.child.kill('SIGCONT');
    const thawed = () => holder.lines.slice(seen);
    await waitFor(
      () => thawed().some((l) => l.event === 'lost') && thawed().some((l) => l.event === 'action'),
      { timeoutMs: 10_000, what: 'the thawed holder to act with its stale token and learn it lost' },
    );
    const after = holder.lines.slice(seen);
    expect(after.find((l) => l.event === 'action')).toEqual({ event: 'action', token: stale, ok: false });
    expect(after.filter((l) => l.event === 'action' && l.ok === true)).toEqual([]);
    expect(await membership.targetsFor('heir2')).toEqual({
      token: heir!.token,
      at: 1,
      apps: { 'acme/echo': 3 },
    });
    expect(await membership.targetsFor('frozen')).toBeNull();
    holder.child.kill('SIGKILL');
  }, 40_000);
});
