// A node's election in a process of its own, for tests that kill or freeze it. Arguments: Redis URL, node
// id, lease ms, renew ms. Prints one JSON line per event: `leader` (token), `lost`, and `action` (the
// result of a fenced action tried with the token it believes it holds, before each renewal).
import { createElection } from './election.js';
import { openRedis } from './redis.js';
import { createRedisMembership } from './redis-membership.js';

const [url, nodeId, leaseMs, renewMs] = process.argv.slice(2);
const redis = openRedis(url ?? '', { name: `hangar:${nodeId}:test` });
const membership = createRedisMembership(redis);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
let believed: { nodeId: string; token: number } | null = null;
const election = createElection({
  membership,
  nodeId: nodeId ?? 'fixture',
  leaseMs: Number(leaseMs),
  now: Date.now,
  onChange: (lead) => say(lead ? { event: 'leader', token: lead.token } : { event: 'lost' }),
});

async function loop(): Promise<void> {
  if (believed) {
    const ok = await membership.publishTargets(
      believed,
      { [believed.nodeId]: { 'acme/echo': 1 } },
      Date.now(),
    );
    say({ event: 'action', token: believed.token, ok });
  }
  await election.tick();
  believed = election.current();
  setTimeout(loop, Number(renewMs));
}
void loop();
