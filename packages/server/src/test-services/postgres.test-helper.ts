// A real PostgreSQL server for tests: initdb into a temporary folder, `postgres` on a free loopback port,
// trust authentication on loopback only. initdb and postgres refuse to run as root, so as root both run as
// the `postgres` user (runuser). Tests skip with one clear line where PostgreSQL is not installed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeLoopbackPort, waitFor } from './ports.test-helper.js';

/** Where PostgreSQL's server programs are, or null when it is not installed. */
export function postgresBinDir(): string | null {
  const candidates: string[] = [];
  if (process.env.HANGAR_TEST_PG_BIN) candidates.push(process.env.HANGAR_TEST_PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(debian, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  return candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres'))) ?? null;
}

/** Why PostgreSQL tests skip on this machine, or null when they run. */
export const postgresMissing: string | null =
  process.env.HANGAR_TEST_ENGINES === 'none'
    ? 'PostgreSQL tests skipped: HANGAR_TEST_ENGINES=none (as on a machine without PostgreSQL)'
    : postgresBinDir()
      ? null
      : 'PostgreSQL tests skipped: PostgreSQL 15 is not installed (Debian: apt-get install postgresql)';

/** A PostgreSQL server of a test, in its own process and data folder. */
export interface PgTestServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  dataDir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server cleanly (SIGINT: fast shutdown). */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data folder (after stop or kill). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function pgUser(): { uid: number; gid: number } | null {
  if (!asRoot) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function asPgUser(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

let dbCounter = 0;

/** Starts a fresh PostgreSQL server; throws when PostgreSQL is not installed (check `postgresMissing`). */
export async function startPostgres(
  opts: {
    settings?: Record<string, string>;
    /** Networks (CIDR) trusted besides loopback, e.g. a test's veth link (listen there via `settings`). */
    trustNetworks?: string[];
  } = {},
): Promise<PgTestServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresMissing ?? 'PostgreSQL missing');
  const root = mkdtempSync(join(tmpdir(), 'hangar-pg-'));
  const dataDir = join(root, 'data');
  const user = pgUser();
  if (user) {
    chownSync(root, user.uid, user.gid);
    chmodSync(root, 0o700);
  }
  const [initCmd, initArgs] = asPgUser(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  for (const net of opts.trustNetworks ?? [])
    appendFileSync(join(dataDir, 'pg_hba.conf'), `host all all ${net} trust\n`);
  const port = await freeLoopbackPort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: root,
    fsync: 'on',
    max_connections: '200',
    shared_buffers: '64MB',
    ...opts.settings,
  };
  let child: ChildProcess | null = null;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  async function start(): Promise<void> {
    const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const [cmd, cmdArgs] = asPgUser(join(bin!, 'postgres'), args);
    const proc = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr!.on('data', (b: Buffer) => {
      if (stderr.length < 8192) stderr += b.toString();
    });
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`postgres exited ${proc.exitCode}: ${stderr}`);
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => {});
        }
      },
      { timeoutMs: 30_000, what: 'postgres to accept connections' },
    );
  }

  async function signal(sig: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    // runuser does not pass signals on: they go to the postmaster itself (its pid file).
    signalPostmaster(dataDir, proc, sig);
    await exited;
  }

  await start();
  return {
    url,
    port,
    dataDir,
    async createDatabase(name) {
      const db = name ?? `t${process.pid}_${Date.now().toString(36)}_${dbCounter++}`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${db}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    stop: () => signal('SIGINT'),
    kill: () => signal('SIGKILL'),
    start,
    async close() {
      await signal('SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function signalPostmaster(dataDir: string, proc: ChildProcess, sig: NodeJS.Signals): void {
  let pid = 0;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    // not written yet
  }
  if (!(pid > 0)) {
    proc.kill(sig);
    return;
  }
  process.kill(pid, sig);
  if (sig === 'SIGKILL') {
    // Its backends would keep the shared memory attached and stop a restart: a crash takes them too.
    try {
      execFileSync('pkill', ['-KILL', '-P', String(pid)]);
    } catch {
      // none left
    }
  }
}
