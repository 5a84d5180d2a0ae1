import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * Who answers on a runner's port. A local runner is told a free port, but another process can take it
 * between the check and the app's own `listen`: the app then fails to bind while a health probe of the
 * port is answered by that other process. These helpers read Linux's /proc to tell whether the
 * listener that takes 127.0.0.1 connections on a port belongs to the runner's processes.
 */

/** Addresses (as /proc/net/tcp{,6} spell them) whose listeners take connections to 127.0.0.1. */
const LOOPBACK_LISTEN = new Set([
  '0100007F', // 127.0.0.1
  '00000000', // 0.0.0.0
  '00000000000000000000000000000000', // ::
  '0000000000000000FFFF00000100007F', // ::ffff:127.0.0.1
]);
const TCP_LISTEN = '0A';

/** Socket inodes listening on `port` for 127.0.0.1, from one /proc/net/tcp table's text. */
export function listenInodesIn(table: string, port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue;
    const [addr, p] = cols[1]!.split(':');
    if (p === hexPort && LOOPBACK_LISTEN.has(addr!)) out.push(cols[9]!);
  }
  return out;
}

/** The pid and process group of each process, with its parent; processes that vanish are skipped. */
async function processTable(): Promise<Array<{ pid: number; ppid: number; pgrp: number }>> {
  const names = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  const rows = await Promise.all(
    names.map(async (name) => {
      try {
        const stat = await readFile(`/proc/${name}/stat`, 'utf8');
        // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return { pid: Number(name), ppid: Number(rest[1]), pgrp: Number(rest[2]) };
      } catch {
        return null;
      }
    }),
  );
  return rows.filter((r) => r !== null);
}

/** `root`, the processes of its group, and every descendant of either. */
function familyOf(root: number, table: Array<{ pid: number; ppid: number; pgrp: number }>): Set<number> {
  const family = new Set([root]);
  for (const p of table) if (p.pgrp === root) family.add(p.pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!family.has(p.pid) && family.has(p.ppid)) {
        family.add(p.pid);
        grew = true;
      }
    }
  }
  return family;
}

/** Socket inodes among the open descriptors of `pids`. */
async function socketInodesOf(pids: Iterable<number>): Promise<Set<string>> {
  const inodes = new Set<string>();
  await Promise.all(
    [...pids].map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        return;
      }
      await Promise.all(
        fds.map(async (fd) => {
          const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
          const m = /^socket:\[(\d+)\]$/.exec(target);
          if (m) inodes.add(m[1]!);
        }),
      );
    }),
  );
  return inodes;
}

/**
 * Whether connections to 127.0.0.1:`port` reach the processes of the runner started as `pid` (its
 * process group and descendants): there is a listener and every such listener is theirs. Null where
 * this cannot be told (no /proc, as on macOS); callers then trust the health probe alone.
 */
export async function listenerIsFamilyOf(pid: number, port: number): Promise<boolean | null> {
  let listening: string[];
  try {
    listening = listenInodesIn(await readFile('/proc/net/tcp', 'utf8'), port);
  } catch {
    return null;
  }
  // An IPv4 listener excludes a dual-stack one on the same port; only without one is tcp6 read.
  if (listening.length === 0) {
    listening = listenInodesIn(await readFile('/proc/net/tcp6', 'utf8').catch(() => ''), port);
  }
  if (listening.length === 0) return false;
  // Most apps listen in the process the driver started: its descriptors alone settle it.
  const own = await socketInodesOf([pid]);
  if (listening.every((inode) => own.has(inode))) return true;
  const theirs = await socketInodesOf(familyOf(pid, await processTable()));
  return listening.every((inode) => theirs.has(inode));
}
