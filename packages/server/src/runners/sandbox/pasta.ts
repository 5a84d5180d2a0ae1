import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** A running port forward into one runner's network namespace. */
export interface IngressForward {
  /** Stops the forwarder (it also quits by itself once the namespace is gone). */
  close(): Promise<void>;
}

/** What the forward needs. */
export interface IngressOptions {
  /** pasta's executable. */
  pasta: string;
  /** An open descriptor of the runner's network namespace (closed by the caller). */
  netnsFd: number;
  /** Host port on 127.0.0.1 that the gateway connects to; forwarded to the same port in the namespace. */
  port: number;
  /** A port of the host's loopback the namespace may reach at the same number (the egress proxy). */
  egressPort: number | null;
  /** The file host's port on the host's loopback, reachable at the same number inside; null: none. */
  filesPort?: number | null;
  /** Where pasta writes its pid (removed on close). */
  pidFile: string;
}

/**
 * Connects the gateway to a runner whose network namespace has nothing but loopback. pasta binds
 * `127.0.0.1:port` on the host and splices each connection to `127.0.0.1:port` inside the namespace.
 * The namespace's tap interface is left unconfigured and the only outbound forwards are the egress
 * proxy's port and the file host's port when there are such (`-T <port>,<port>`, else none), so the
 * runner cannot open a connection to anything else: not the host's loopback (Hangar's API and gateway
 * ports included), not private addresses, not the internet. Resolves once the host port is bound (pasta
 * daemonises then).
 */
export async function forwardIngress(options: IngressOptions): Promise<IngressForward> {
  const args = [
    '--quiet',
    // pasta would drop to nobody before opening the namespace, which root owns; it still drops its
    // capabilities and seccomp-confines itself after setup.
    '--runas',
    '0:0',
    '--netns-only',
    // The namespace is handed over as an open descriptor: pasta, having dropped its capabilities,
    // could not open the sandbox's /proc entry itself.
    '--netns',
    '/proc/self/fd/3',
    '--tcp-ports',
    `127.0.0.1/${options.port}:${options.port}`,
    '--udp-ports',
    'none',
    '--tcp-ns',
    outboundPorts(options),
    '--udp-ns',
    'none',
    '--no-map-gw',
    // IPv4 only: the forward targets 127.0.0.1, and pasta sets up twice as fast without IPv6.
    '--ipv4-only',
    '--no-dhcp',
    '--no-ndp',
    '--no-dhcpv6',
    '--no-ra',
    '--pid',
    options.pidFile,
  ];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(options.pasta, args, { stdio: ['ignore', 'ignore', 'pipe', options.netnsFd] });
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) {
    const detail = output
      .join('')
      .split('\n')
      .filter((l) => l && !l.includes('syslog'))
      .join('; ');
    throw new Error(`network forward failed (pasta exit ${code}${detail ? `: ${detail}` : ''})`);
  }
  const pid = Number((await readFile(options.pidFile, 'utf8').catch(() => '')).trim()) || null;
  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      stopPasta(pid, options.pidFile);
      await rm(options.pidFile, { force: true });
    },
  };
}

/** pasta's `--tcp-ns` spec: the host loopback ports the namespace may reach, at the same numbers. */
export function outboundPorts(options: Pick<IngressOptions, 'egressPort' | 'filesPort'>): string {
  const ports = [options.egressPort, options.filesPort].filter((p): p is number => typeof p === 'number');
  return ports.length === 0 ? 'none' : ports.join(',');
}

/** Stops forwarders left by an earlier server process (their pid files are in `dir`). */
export function sweepIngress(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.endsWith('.pasta.pid'))) {
    const path = join(dir, name);
    const pid = Number(readOrEmpty(path).trim()) || null;
    if (pid !== null && isForwarderOf(pid, path)) signalQuietly(pid);
    rmSync(path, { force: true });
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function signalQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // gone meanwhile
  }
}

/** SIGTERMs the forwarder `pid` if it is still the one `pidFile` names. */
function stopPasta(pid: number | null, pidFile: string): void {
  if (pid !== null && isForwarderOf(pid, pidFile)) signalQuietly(pid);
}

/**
 * True when `pid` is still the forwarder that wrote `pidFile` (a pid file can outlive its process and
 * the pid be reused). Checked on the command line, which names the pid file; the process name is no
 * help (Debian's pasta runs as `passt.avx2`).
 */
function isForwarderOf(pid: number, pidFile: string): boolean {
  return readOrEmpty(`/proc/${pid}/cmdline`).split('\0').includes(pidFile);
}
