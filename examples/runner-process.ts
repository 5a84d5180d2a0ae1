import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An example app started the way Hangar starts a runner, for the examples' tests. */
export interface RunnerProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Every stdout line printed so far. */
  readonly lines: string[];
  /** Resolves with the first stdout line (already printed or future) that matches. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Finds a free 127.0.0.1 port by binding port 0 and releasing it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (child.exitCode !== null)
      throw new Error(`runner exited with ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`runner at ${url} not healthy within ${deadlineMs} ms`);
}

/** Starts `command` in `cwd` with the runner contract's env and waits for GET /health → 200. */
export async function startRunner(
  cwd: string,
  command: string[],
  runnerId = 'test-runner',
): Promise<RunnerProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'hangar-example-'));
  const env = { ...process.env, PORT: String(port), DATA_DIR: dataDir, HANGAR_APP: 'demo/example' };
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: { ...env, HANGAR_RUNNER_ID: runnerId },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: Array<{ match: (l: string) => boolean; resolve: (l: string) => void }> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.filter((x) => x.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const proc: RunnerProcess = {
    url,
    dataDir,
    child,
    lines,
    waitForLine: (match) => {
      const seen = lines.find(match);
      return seen !== undefined
        ? Promise.resolve(seen)
        : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    exited: () => exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitHealthy(url, child, 15_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** Parses the JSON log lines a runner printed for one request id. */
export function logsFor(lines: string[], requestId: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.request_id === requestId) out.push(parsed);
    } catch {
      // not a JSON line
    }
  }
  return out;
}
