import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI entry; e2e tests run the real compiled server as a child process. */
export const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

/** A server started with `hangar serve` in a child process. */
export interface ServerProcess {
  url: string;
  key: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Where and how `startServerProcess` runs the server. */
export interface ServerProcessOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Rewrites the command, e.g. to run it inside a network namespace. */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
}

/**
 * Starts `hangar serve --port 0 --home HOME` and waits for its URL. `env` adds to (or, with `undefined`
 * values, removes from) the test process's environment.
 */
export async function startServerProcess(
  home: string,
  extraArgs: string[] = [],
  env: Record<string, string | undefined> = {},
  opts: ServerProcessOptions = {},
): Promise<ServerProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const merged: Record<string, string | undefined> = {
    ...process.env,
    HANGAR_LOG_LEVEL: 'warn',
    NO_COLOR: '1',
    ...env,
  };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const args = [CLI, 'serve', '--port', String(opts.port ?? 0), '--home', home, ...extraArgs];
  const [cmd, cmdArgs] = opts.wrap ? opts.wrap(process.execPath, args) : [process.execPath, args];
  const child = spawn(cmd, cmdArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: merged as NodeJS.ProcessEnv,
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', () => reject(new Error(`server exited:\n${out}`)));
  });
  const key = env.HANGAR_ADMIN_KEY ?? readFileSync(`${home}/admin.key`, 'utf8').trim();
  return { url, key, child, output: () => out, exited };
}
