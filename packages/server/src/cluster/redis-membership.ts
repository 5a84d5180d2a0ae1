import type {
  BeatOutcome,
  ClusterMembership,
  Leadership,
  NodeBeat,
  NodeRecord,
  NodeTargets,
} from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from './redis.js';

/** The keys of the node registry and the lease (area `node`). */
export const NODE_KEYS = {
  /** Hash: node id → JSON NodeBeat with `lastHeartbeat`. */
  nodes: `${KEY_PREFIX}node:nodes`,
  /** Hash: node id → `deadAt|startedAt` of the incarnation the leader declared dead. */
  dead: `${KEY_PREFIX}node:dead`,
  /** String `nodeId|token` with the lease's expiry (PX). */
  lease: `${KEY_PREFIX}node:leader`,
  /** Counter: the last fencing token handed out (INCR). */
  token: `${KEY_PREFIX}node:token`,
  /** Hash: node id → JSON NodeTargets. */
  targets: `${KEY_PREFIX}node:targets`,
} as const;

// A heartbeat of the incarnation the leader declared dead is refused; a new incarnation clears the mark.
const HEARTBEAT = `
local dead = redis.call('HGET', KEYS[2], ARGV[1])
if dead then
  local started = string.match(dead, '|(.*)$')
  if started == ARGV[3] then return 'evicted' end
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'alive'`;

// SET NX PX with a token from INCR, or a renewal only while the lease still holds this node's token.
const CAMPAIGN = `
local cur = redis.call('GET', KEYS[1])
if cur then
  if ARGV[3] ~= '' and cur == ARGV[1] .. '|' .. ARGV[3] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {cur, 1}
  end
  return {cur, 0}
end
local tok = redis.call('INCR', KEYS[2])
local v = ARGV[1] .. '|' .. tok
if redis.call('SET', KEYS[1], v, 'NX', 'PX', ARGV[2]) then return {v, 1} end
return {redis.call('GET', KEYS[1]) or '', 0}`;

const RESIGN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

const MARK_DEAD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. '|' .. ARGV[4])
return 1`;

const PUBLISH_TARGETS = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1`;

/** `nodeId|token` → Leadership. */
function parseLease(value: string | null | undefined): Leadership | null {
  if (!value) return null;
  const bar = value.lastIndexOf('|');
  const token = Number(value.slice(bar + 1));
  return bar > 0 && Number.isSafeInteger(token) ? { nodeId: value.slice(0, bar), token } : null;
}

const leaseValue = (l: Leadership) => `${l.nodeId}|${l.token}`;

/** The node registry and the leader lease on the cluster's Redis. The connection stays the caller's. */
export function createRedisMembership(redis: Redis): ClusterMembership {
  const run = (script: string, keys: string[], args: (string | number)[]) =>
    redis.eval(script, keys.length, ...keys, ...args.map(String));

  return {
    async heartbeat(beat: NodeBeat, now: number): Promise<BeatOutcome> {
      const record = JSON.stringify({ ...beat, lastHeartbeat: now });
      const out = await run(
        HEARTBEAT,
        [NODE_KEYS.nodes, NODE_KEYS.dead],
        [beat.nodeId, record, beat.startedAt],
      );
      return out === 'evicted' ? 'evicted' : 'alive';
    },

    async listNodes(): Promise<NodeRecord[]> {
      const [nodes, dead] = await Promise.all([
        redis.hgetall(NODE_KEYS.nodes),
        redis.hgetall(NODE_KEYS.dead),
      ]);
      const out: NodeRecord[] = [];
      for (const [id, json] of Object.entries(nodes)) {
        const beat = JSON.parse(json) as Omit<NodeRecord, 'deadAt'>;
        const mark = dead[id]?.split('|');
        const deadAt = mark && Number(mark[1]) === beat.startedAt ? Number(mark[0]) : null;
        out.push({ ...beat, deadAt });
      }
      return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    },

    async deregister(nodeId) {
      await redis
        .multi()
        .hdel(NODE_KEYS.nodes, nodeId)
        .hdel(NODE_KEYS.dead, nodeId)
        .hdel(NODE_KEYS.targets, nodeId)
        .exec();
    },

    async campaign(nodeId, leaseMs, token) {
      const [value, won] = (await run(
        CAMPAIGN,
        [NODE_KEYS.lease, NODE_KEYS.token],
        [nodeId, Math.max(1, Math.round(leaseMs)), token ?? ''],
      )) as [string, number];
      return won === 1 ? parseLease(value) : null;
    },

    async leader() {
      return parseLease(await redis.get(NODE_KEYS.lease));
    },

    async resign(nodeId, token) {
      await run(RESIGN, [NODE_KEYS.lease], [leaseValue({ nodeId, token })]);
    },

    async holds(nodeId, token) {
      return (await redis.get(NODE_KEYS.lease)) === leaseValue({ nodeId, token });
    },

    async markDead(leader, node, at) {
      const args = [leaseValue(leader), node.nodeId, at, node.startedAt];
      return (await run(MARK_DEAD, [NODE_KEYS.lease, NODE_KEYS.dead], args)) === 1;
    },

    async publishTargets(leader, targets, at) {
      const args: (string | number)[] = [leaseValue(leader)];
      for (const [nodeId, apps] of Object.entries(targets)) {
        const value: NodeTargets = { token: leader.token, at, apps };
        args.push(nodeId, JSON.stringify(value));
      }
      return (await run(PUBLISH_TARGETS, [NODE_KEYS.lease, NODE_KEYS.targets], args)) === 1;
    },

    async targetsFor(nodeId) {
      const json = await redis.hget(NODE_KEYS.targets, nodeId);
      return json ? (JSON.parse(json) as NodeTargets) : null;
    },

    async close() {},
  };
}
