// A real redis-server for tests, on a free loopback port with its files in a temporary folder. Tests skip
// with one clear line where Redis is not installed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, waitFor } from './ports.test-helper.js';

function redisBinary(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server']).toString().trim() || null;
  } catch {
    return null;
  }
}

/** Why Redis tests skip on this machine, or null when they run. */
export const redisMissing: string | null =
  process.env.HANGAR_TEST_ENGINES === 'none'
    ? 'Redis tests skipped: HANGAR_TEST_ENGINES=none (as on a machine without Redis)'
    : redisBinary()
      ? null
      : 'Redis tests skipped: redis-server is not installed (Debian: apt-get install redis-server)';

/** A redis-server of a test. */
export interface RedisTestServer {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  port: number;
  dir: string;
  /** Stops it (SHUTDOWN semantics: SIGTERM, the append-only file is kept). */
  stop(): Promise<void>;
  /** Kills it (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts redis-server. `appendfsync` (default `always`) makes every acknowledged write survive a kill, as
 * the cluster's documented Redis settings ask.
 */
export async function startRedis(
  opts: {
    appendfsync?: 'always' | 'everysec' | 'no';
    /** Addresses it listens on besides 127.0.0.1 (e.g. a test's veth link); the URL stays loopback. */
    bind?: string[];
  } = {},
): Promise<RedisTestServer> {
  const bin = redisBinary();
  if (!bin) throw new Error(redisMissing ?? 'redis-server missing');
  const dir = mkdtempSync(join(tmpdir(), 'hangar-redis-'));
  const port = await freeLoopbackPort();
  let child: ChildProcess | null = null;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    ...(opts.bind ?? []),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    opts.appendfsync ?? 'always',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
  ];

  async function start(): Promise<void> {
    const proc = spawn(bin!, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}`);
        return ping(port);
      },
      { timeoutMs: 15_000, what: 'redis-server to answer PING' },
    );
  }

  async function signal(sig: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGCONT');
    proc.kill(sig);
    await exited;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    start,
    async close() {
      await signal('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (b) => done(b.toString().startsWith('+PONG')));
  });
}
