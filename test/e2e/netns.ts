// Network namespaces for partition tests: a namespace joined to the root namespace by a veth pair on a /30
// of 10.213.0.0/16 (the root side is .1, the namespace side .2), commands run inside it with
// `ip netns exec`, and the link cut and healed. Needs root and iproute2; tests skip with one line otherwise.
// The namespace's default route goes through the link, as a host's goes through its gateway: a node's
// sandboxed runners need one (pasta, which splices their loopback, refuses to start on a host without a
// default IPv4 route).
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';

function ip(args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

function probe(): string | null {
  const name = `hangar-probe-${process.pid}`;
  try {
    ip(['netns', 'add', name]);
    ip(['netns', 'del', name]);
    return null;
  } catch {
    return 'network namespace tests skipped: `ip netns add` failed (needs root and iproute2)';
  }
}

/** Why partition tests skip on this machine, or null when namespaces can be created. */
export const netnsMissing: string | null = probe();

/** A network namespace with a veth link to the root namespace. */
export interface NetNamespace {
  name: string;
  /** The root namespace's end of the link (engines listen here for the namespace's processes). */
  hostAddress: string;
  /** The namespace's own address (its servers listen here; the test reaches them here). */
  address: string;
  /** `/30` of the link, for access rules such as pg_hba. */
  subnet: string;
  /** The command and arguments that run `cmd args…` inside the namespace. */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** Spawns `cmd args…` inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /**
   * Cuts the link: the namespace's end goes down, so whatever either side sends over it is dropped
   * (established connections see silence and retransmit; new ones from inside fail at once).
   */
  cut(): void;
  /** Heals the link: both ends up again, the same addresses and routes (the default route too). */
  heal(): void;
  /** Pids of every process still inside the namespace. */
  pids(): number[];
  /** Kills what runs inside, then deletes the namespace (its veth pair goes with it). Idempotent. */
  close(): void;
}

const open = new Set<NetNamespace>();
let exitHook = false;

/** Creates namespace `hangar-nsN` with link 10.213.N.0/30; N (1–250) is free or chosen from the pid. */
export function createNetNamespace(n = pickIndex()): NetNamespace {
  const name = `hangar-ns${n}`;
  const host = `hgh${n}`;
  const peer = `hgn${n}`;
  const hostAddress = `10.213.${n}.1`;
  const address = `10.213.${n}.2`;
  // A namespace left by a crashed run of the same index is removed first.
  removeNamespace(name, host);
  ip(['netns', 'add', name]);
  let closed = false;
  const ns: NetNamespace = {
    name,
    hostAddress,
    address,
    subnet: `10.213.${n}.0/30`,
    wrap: (cmd, args) => ['ip', ['netns', 'exec', name, cmd, ...args]],
    spawn: (cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', name, cmd, ...args], opts),
    cut: () => {
      ip(['-n', name, 'link', 'set', peer, 'down']);
    },
    heal: () => {
      ip(['-n', name, 'link', 'set', peer, 'up']);
      ip(['link', 'set', host, 'up']);
      // IPv4 drops a route through a link that goes down; the link's own subnet route comes back with it.
      ip(['-n', name, 'route', 'replace', 'default', 'via', hostAddress]);
    },
    pids: () => namespacePids(name),
    close: () => {
      if (closed) return;
      closed = true;
      open.delete(ns);
      for (const pid of namespacePids(name)) killQuietly(pid);
      removeNamespace(name, host);
    },
  };
  open.add(ns);
  if (!exitHook) {
    exitHook = true;
    // A test that throws past its own cleanup still leaves no namespace behind.
    process.once('exit', () => {
      for (const o of [...open]) o.close();
    });
  }
  try {
    ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    ip(['link', 'set', peer, 'netns', name]);
    ip(['addr', 'add', `${hostAddress}/30`, 'dev', host]);
    ip(['link', 'set', host, 'up']);
    ip(['-n', name, 'addr', 'add', `${address}/30`, 'dev', peer]);
    ip(['-n', name, 'link', 'set', peer, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'route', 'add', 'default', 'via', hostAddress]);
  } catch (err) {
    ns.close();
    throw err;
  }
  return ns;
}

function pickIndex(): number {
  const taken = ip(['netns', 'list']);
  for (let i = 0; i < 250; i++) {
    const n = ((process.pid + i) % 250) + 1;
    if (!taken.includes(`hangar-ns${n} `) && !taken.includes(`hangar-ns${n}\n`)) return n;
  }
  throw new Error('no free hangar-nsN namespace index');
}

function namespacePids(name: string): number[] {
  try {
    return ip(['netns', 'pids', name])
      .split('\n')
      .map(Number)
      .filter((p) => p > 0);
  } catch {
    return [];
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function removeNamespace(name: string, hostLink: string): void {
  try {
    ip(['link', 'del', hostLink]);
  } catch {
    // not there
  }
  try {
    ip(['netns', 'del', name]);
  } catch {
    // not there
  }
}
