import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
/** The built CLI the tests run, exactly as a user would. */
export const CLI = join(REPO, 'packages/cli/dist/main.js');

/** Fails with a clear message when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it first with \`npx tsc -b packages/cli\``);
}

/** A finished CLI run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An environment without the caller's Hangar settings, with colours off and profiles in `configHome`. */
export function cleanEnv(configHome: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('HANGAR_') && k !== 'FAL_KEY') env[k] = v;
  }
  return { ...env, XDG_CONFIG_HOME: configHome, NO_COLOR: '1', HANGAR_LOG_LEVEL: 'warn', ...extra };
}

/** Starts the CLI with piped stdio (so stdin is never a terminal). */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    err += c;
  });
  return Object.assign(child, { out: () => out, err: () => err });
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliRun> {
  const child = spawnCli(args, env);
  child.stdin?.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: child.out(), stderr: child.err() }));
  });
}

/** Resolves once `read()` matches, polling on the child's output events; rejects if the child exits first. */
export function waitForOutput(
  child: ChildProcess,
  read: () => string,
  pattern: RegExp,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(read());
      if (!m) return false;
      cleanup();
      resolve(m);
      return true;
    };
    const onExit = (code: number | null) => {
      if (check()) return;
      cleanup();
      reject(new Error(`process exited (${code}) before ${pattern}: ${read()}`));
    };
    const cleanup = () => {
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', onExit);
    check();
  });
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** A running `hangar serve`. */
export interface Served {
  url: string;
  port: number;
  /** The admin key printed at the first start of a home (null on later starts). */
  key: string | null;
  owner: string;
  stop(): Promise<void>;
}

/** Starts `hangar serve --port PORT --home HOME` as a subprocess and waits until it listens. */
export async function startServe(home: string, env: NodeJS.ProcessEnv, port = 0): Promise<Served> {
  const child = spawnCli(['serve', '--port', String(port), '--home', home], env);
  // The first start of a home prints the new admin key; later starts print where it is kept.
  const banner =
    /listening on (http:\/\/\S+)\n(?:admin key \(owner ([^,]+),[^\n]*\n\s+(\S+)\n|[^\n]*admin key: )/;
  const [, url = '', owner, key] = await waitForOutput(child, child.out, banner);
  return {
    url,
    port: Number(new URL(url).port),
    key: key ?? null,
    owner: owner ?? 'demo',
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/** A TCP port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Retries `attempt` until it returns a value, checking after each try (no fixed sleeps in assertions). */
export async function eventually<T>(
  attempt: () => Promise<T | undefined>,
  tries = 60,
  pauseMs = 250,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await attempt();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error('condition never became true');
}
