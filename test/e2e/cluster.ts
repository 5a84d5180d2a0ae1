// A Hangar cluster for end-to-end tests: a real PostgreSQL, a real redis-server, one object storage folder
// shared by every node (as an S3 bucket would be), and N `hangar serve` processes, each with its own home,
// port and node id, all with the same admin key.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sweepIngress } from '../../packages/server/src/runners/sandbox/pasta.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../packages/server/src/test-services/postgres.test-helper.js';
import {
  type RedisTestServer,
  redisMissing,
  startRedis,
} from '../../packages/server/src/test-services/redis.test-helper.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/** Why cluster tests skip here (PostgreSQL or Redis missing), or null. */
export const clusterMissing: string | null = postgresMissing ?? redisMissing;

/** A running test cluster. */
export interface TestCluster {
  /** The cluster's temporary folder: each node's home is `<root>/<node id>`, the shared storage `<root>/storage`. */
  root: string;
  pg: PgTestServer;
  redis: RedisTestServer;
  databaseUrl: string;
  /** `id:secret`, the ADMIN key every node shares. */
  adminKey: string;
  /** Node processes by index; a killed node's slot keeps its last process until `startNode` replaces it. */
  nodes: ServerProcess[];
  nodeId(i: number): string;
  /** Starts node `i` (again, after a kill): same home, id and configuration. */
  startNode(i: number): Promise<ServerProcess>;
  /** SIGKILL of node `i`, waiting for the process to be gone. */
  killNode(i: number): Promise<void>;
  /** SIGTERM of node `i` (drain), waiting for its exit. */
  stopNode(i: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  close(): Promise<void>;
}

/** Options of `startCluster`. */
export interface ClusterOptions {
  nodes: number;
  /** Environment added to every node (e.g. `HANGAR_LOG_LEVEL`). */
  env?: Record<string, string | undefined>;
  /** Extra `hangar serve` arguments for every node. */
  args?: string[];
  /** The configuration file (`hangar.config.json`) of every node. */
  config?: object;
  /** How many nodes start with the cluster (default all); the others start with `startNode(i)`. */
  started?: number;
  /**
   * Node `i` runs inside this network namespace (see netns.ts): it listens on the namespace's address
   * and reaches PostgreSQL and Redis at the link's root end, where both then listen too.
   */
  networks?: Record<number, NodeNetwork>;
}

/** A network a node runs in: a network namespace linked to the root namespace. */
export interface NodeNetwork {
  /** The node's address (its URL's host). */
  address: string;
  /** The engines' address as the node sees them. */
  hostAddress: string;
  /** The link's CIDR, trusted by PostgreSQL. */
  subnet: string;
  wrap(cmd: string, args: string[]): [string, string[]];
}

/** The port a node inside a namespace listens on (a namespace has its own ports). */
const NETNS_PORT = 8080;

/** Starts PostgreSQL, Redis and `nodes` server processes, one after the other (the first migrates). */
export async function startCluster(opts: ClusterOptions): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'hangar-cluster-'));
  const storage = join(root, 'storage');
  mkdirSync(storage);
  const networks = Object.values(opts.networks ?? {});
  const pg = await startPostgres({
    settings: { listen_addresses: ['127.0.0.1', ...networks.map((n) => n.hostAddress)].join(',') },
    trustNetworks: networks.map((n) => n.subnet),
  });
  const redis = await startRedis({ bind: networks.map((n) => n.hostAddress) });
  const databaseUrl = await pg.createDatabase('hangar');
  const adminKey = `admin:${randomBytes(24).toString('base64url')}`;
  const nodes: ServerProcess[] = [];
  const nodeId = (i: number) => `node-${String.fromCharCode(97 + i)}`;

  async function startNode(i: number): Promise<ServerProcess> {
    const home = join(root, nodeId(i));
    mkdirSync(home, { recursive: true });
    if (opts.config) writeFileSync(join(home, 'hangar.config.json'), JSON.stringify(opts.config));
    const net = opts.networks?.[i];
    const engines = (url: string) => (net ? url.replace('127.0.0.1', net.hostAddress) : url);
    const s = await startServerProcess(
      home,
      ['--database-url', engines(databaseUrl), '--redis-url', engines(redis.url), ...(opts.args ?? [])],
      {
        HANGAR_NODE_ID: nodeId(i),
        HANGAR_ADMIN_KEY: adminKey,
        HANGAR_STORAGE_URL: pathToFileURL(storage).href,
        HANGAR_SECRETS_KEY: randomKeyFor(root),
        ...(net
          ? { HANGAR_HOST: net.address, HANGAR_PUBLIC_URL: `http://${net.address}:${NETNS_PORT}` }
          : {}),
        ...opts.env,
      },
      net ? { port: NETNS_PORT, wrap: net.wrap } : {},
    );
    nodes[i] = s;
    return s;
  }

  async function killNode(i: number): Promise<void> {
    const s = nodes[i];
    if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
    s.child.kill('SIGKILL');
    await s.exited;
  }

  /**
   * Kills every node, then the port forwarders of their sandboxed runners: a forwarder is a daemon of
   * its own that outlives a node killed with -9 (the node's next start would stop it; there is none).
   */
  async function killAll(): Promise<void> {
    for (let i = 0; i < nodes.length; i++) await killNode(i);
    for (let i = 0; i < opts.nodes; i++) sweepIngress(join(root, nodeId(i), 'sandbox', 'run'));
  }

  try {
    for (let i = 0; i < (opts.started ?? opts.nodes); i++) await startNode(i);
  } catch (err) {
    await killAll();
    await redis.close();
    await pg.close();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    root,
    pg,
    redis,
    databaseUrl,
    adminKey,
    nodes,
    nodeId,
    startNode,
    killNode,
    async stopNode(i) {
      const s = nodes[i]!;
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
      return s.exited;
    },
    async close() {
      await killAll();
      await redis.close();
      await pg.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const secretsKeys = new Map<string, string>();

/** One secrets key per cluster (every node must seal and open secrets alike). */
function randomKeyFor(root: string): string {
  let k = secretsKeys.get(root);
  if (!k) {
    k = randomBytes(32).toString('base64');
    secretsKeys.set(root, k);
  }
  return k;
}
