import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodesView } from '@hangar/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../server/src/test-services/postgres.test-helper.js';
import {
  type RedisTestServer,
  redisMissing,
  startRedis,
} from '../../server/src/test-services/redis.test-helper.js';
import {
  cleanEnv,
  eventually,
  exited,
  requireBuiltCli,
  runCli,
  spawnCli,
  tempDir,
  waitForOutput,
} from './testing/cli-harness.test-helper.js';

const SLOW = 120_000;
const KEY = 'nodes_admin:nodes-e2e-secret-0123456789abcdef';

// Real `hangar serve` processes of one cluster over a real redis-server and PostgreSQL: the operator's view through the
// CLI, a node killed with SIGKILL (the other leads and declares it dead), and one drained with SIGTERM.
describe.skipIf(redisMissing !== null || postgresMissing !== null)('hangar nodes over a cluster', () => {
  let redis: RedisTestServer;
  let pg: PgTestServer;
  let databaseUrl: string;
  let dir: ReturnType<typeof tempDir>;
  const children: ReturnType<typeof spawnCli>[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    databaseUrl = await pg.createDatabase();
    dir = tempDir('hangar-nodes-e2e-');
  }, SLOW);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await redis?.close();
    await pg?.close();
    dir?.remove();
  });

  async function node(id: string) {
    const home = join(dir.path, id);
    mkdirSync(home, { recursive: true });
    const cluster = { lease_ms: 3000, renew_ms: 300, dead_after_ms: 3000 };
    writeFileSync(join(home, 'hangar.config.json'), JSON.stringify({ cluster }));
    const env = cleanEnv(join(dir.path, 'config'), { HANGAR_NODE_ID: id, HANGAR_ADMIN_KEY: KEY });
    const child = spawnCli(
      ['serve', '--port', '0', '--home', home, '--redis-url', redis.url, '--database-url', databaseUrl],
      env,
    );
    children.push(child);
    const [, url = ''] = await waitForOutput(child, child.out, /listening on (http:\/\/\S+)\n/);
    return { child, url, env: { ...env, HANGAR_URL: url, HANGAR_KEY: KEY } };
  }

  const viewThrough = async (env: NodeJS.ProcessEnv): Promise<NodesView> => {
    const run = await runCli(['nodes', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as NodesView;
  };

  it(
    'lists every node and the leader; a SIGKILLed leader is replaced and declared dead; a SIGTERMed node leaves',
    async () => {
      const a = await node('node-a');
      const b = await node('node-b');
      const both = await eventually(async () => {
        const v = await viewThrough(a.env);
        return v.nodes.length === 2 && v.leader ? v : undefined;
      });
      expect(both.mode).toBe('cluster');
      expect(both.nodes.map((n) => [n.node_id, n.status])).toEqual([
        ['node-a', 'alive'],
        ['node-b', 'alive'],
      ]);
      expect((await viewThrough(b.env)).leader?.node_id).toBe(both.leader?.node_id);
      const table = await runCli(['nodes'], a.env);
      expect(table.stdout).toMatch(/NODE\s+STATUS\s+LEADER\s+HEARTBEAT/);
      expect(table.stdout).toContain(`leader ${both.leader?.node_id}`);

      const [victim, heir] = both.leader?.node_id === 'node-a' ? [a, b] : [b, a];
      victim.child.kill('SIGKILL');
      const after = await eventually(async () => {
        const v = await viewThrough(heir.env);
        const gone = v.nodes.find((n) => n.node_id !== v.leader?.node_id);
        return v.leader && v.leader.token > both.leader!.token && gone?.status === 'dead' ? v : undefined;
      }, 80);
      expect(after.nodes.find((n) => n.is_leader)?.url).toBe(heir.url);

      const c = await node('node-c');
      await eventually(async () =>
        (await viewThrough(heir.env)).nodes.some((n) => n.node_id === 'node-c') ? true : undefined,
      );
      c.child.kill('SIGTERM');
      expect(await exited(c.child)).toBe(0);
      const left = await viewThrough(heir.env);
      expect(left.nodes.map((n) => n.node_id)).not.toContain('node-c');
    },
    SLOW,
  );
});
