import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type CgroupManager, openCgroups } from './cgroups.js';

/** The tools the sandbox is built from, found on PATH. */
export interface SandboxTools {
  bwrap: string;
  pasta: string;
  prlimit: string;
  setpriv: string;
}

/** What the host allows: the sandbox with its tools and cgroups, or why it cannot be built. */
export type SandboxProbe =
  | { ok: true; tools: SandboxTools; cgroups: CgroupManager | null; warnings: string[] }
  | { ok: false; reason: string };

/** Where setpriv may live: it runs inside the sandbox, which shows only these system directories. */
const SANDBOX_BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

/**
 * Checks, once at start, that runners can be sandboxed here: Linux, the server running as root (it
 * gives each owner its own uid and builds namespaces), bubblewrap, pasta, prlimit and setpriv present,
 * and a trial sandbox that starts and drops to an unprivileged uid. Missing cgroups only warn.
 */
export function probeSandbox(searchPath: string, cgroupParent: string): SandboxProbe {
  if (process.platform !== 'linux')
    return { ok: false, reason: `runner sandboxes need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) {
    return {
      ok: false,
      reason: 'runner sandboxes need the server to run as root (it gives each owner its own uid)',
    };
  }
  const path = searchPath || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const missing: string[] = [];
  const find = (name: string, dirs = path.split(delimiter)) => {
    const found = dirs.map((d) => join(d, name)).find(isExecutable);
    if (!found) missing.push(name);
    return found ?? '';
  };
  const tools: SandboxTools = {
    bwrap: find('bwrap'),
    pasta: find('pasta'),
    prlimit: find('prlimit'),
    setpriv: find('setpriv', SANDBOX_BIN_DIRS),
  };
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `runner sandboxes need ${missing.join(', ')} (Debian packages: bubblewrap, passt, util-linux)`,
    };
  }
  const trial = spawnSync(
    tools.bwrap,
    [
      '--unshare-pid',
      '--unshare-net',
      '--unshare-ipc',
      '--die-with-parent',
      '--ro-bind',
      '/usr',
      '/usr',
      ...['/bin', '/lib', '/lib64'].flatMap((p) => ['--ro-bind-try', p, p]),
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--',
      tools.setpriv,
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--no-new-privs',
      '--',
      'true',
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (trial.status !== 0) {
    const detail = (trial.stderr || trial.error?.message || `exit ${trial.status}`).trim().split('\n')[0];
    return { ok: false, reason: `a trial sandbox failed to start (${detail})` };
  }
  const warnings: string[] = [];
  if (!hasDefaultRoute(readOrEmpty('/proc/net/route'))) {
    warnings.push(
      'no default IPv4 route on this host: pasta, which links each sandboxed runner to the gateway, may refuse ' +
        'to start it ("No external routable interface"); add one (any gateway: runners never use it)',
    );
  }
  const cgroups = openCgroups(cgroupParent);
  if ('unavailable' in cgroups) {
    warnings.push(`runner memory limits are off and process limits are per owner: ${cgroups.unavailable}`);
    return { ok: true, tools, cgroups: null, warnings };
  }
  return { ok: true, tools, cgroups, warnings };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when a `/proc/net/route` table lists a usable default IPv4 route (destination and mask 0, the
 * route up). pasta takes its addresses from the interface of that route and refuses to start without
 * one, although the sandbox uses neither.
 */
export function hasDefaultRoute(table: string): boolean {
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .some((f) => f[1] === '00000000' && f[7] === '00000000' && (Number.parseInt(f[3] ?? '0', 16) & 1) === 1);
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
