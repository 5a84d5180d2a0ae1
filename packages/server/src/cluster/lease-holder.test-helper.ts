// A node's election in a process of its own, for tests that kill or freeze it. Arguments: Redis URL, node
// id, lease ms, renew ms. Prints one JSON line per event: `leader` (token), `lost`, and `action` (the
// result of a fenced action tried, before each renewal, with the last token it held: a deposed leader that
// keeps acting, whether or not it has noticed yet, must never succeed).
import { createElection } from './election.js';
import { openRedis } from './redis.js';
import { createRedisMembership } from './redis-membership.js';

const [url, nodeId, leaseMs, renewMs] = process.argv.slice(2);
const redis = openRedis(url ?? '', { name: `hangar:${nodeId}:test` });
const membership = createRedisMembership(redis);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
let held: { nodeId: string; token: number } | null = null;
const election = createElection({
  membership,
  nodeId: nodeId ?? 'fixture',
  leaseMs: Number(leaseMs),
  now: Date.now,
  onChange: (lead) => say(lead ? { event: 'leader', token: lead.token } : { event: 'lost' }),
});

async function loop(): Promise<void> {
  if (held) {
    const ok = await membership.publishTargets(held, { [held.nodeId]: { 'acme/echo': 1 } }, Date.now());
    say({ event: 'action', token: held.token, ok });
  }
  await election.tick();
  held = election.current() ?? held;
  setTimeout(loop, Number(renewMs));
}
void loop();
