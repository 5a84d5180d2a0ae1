import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { RunnerHandle, RunnerSpec } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_LENGTH } from './line-splitter.js';
import { createProcessRunnerDriver } from './process-driver.js';

const driver = createProcessRunnerDriver();

function spec(script: string, env: Record<string, string> = {}): RunnerSpec {
  return {
    runnerId: 'r1',
    owner: 'alice',
    app: 'a',
    revisionId: 'rev',
    dir: tmpdir(),
    dataDir: tmpdir(),
    command: [process.execPath, '-e', script],
    env,
  };
}

interface Run {
  handle: RunnerHandle;
  lines: Array<[string, string]>;
  exit: Promise<{ code: number | null; signal: string | null; calls: number }>;
}

async function run(script: string, env: Record<string, string> = {}): Promise<Run> {
  const lines: Array<[string, string]> = [];
  let calls = 0;
  let done!: (v: { code: number | null; signal: string | null; calls: number }) => void;
  const exit = new Promise<{ code: number | null; signal: string | null; calls: number }>((r) => {
    done = r;
  });
  const handle = await driver.start(spec(script, env), {
    onLine: (stream, line) => lines.push([stream, line]),
    onExit: (code, signal) => {
      calls++;
      done({ code, signal, calls });
    },
  });
  return { handle, lines, exit };
}

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('process runner driver', () => {
  it('serves on the given PORT with a minimal environment', async () => {
    process.env.HANGAR_DRIVER_TEST_SECRET = 'x';
    const script = `
      const http = require('node:http');
      http.createServer((q, s) => s.end(JSON.stringify(Object.keys(process.env)))).listen(+process.env.PORT, '127.0.0.1');
      process.on('SIGTERM', () => process.exit(0));`;
    const r = await run(script, { FOO: 'bar' });
    delete process.env.HANGAR_DRIVER_TEST_SECRET;
    expect(r.handle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.handle.pid).toBeGreaterThan(0);
    let keys: string[] = [];
    for (let i = 0; i < 100 && keys.length === 0; i++) {
      keys = await fetch(r.handle.url)
        .then((res) => res.json() as Promise<string[]>)
        .catch(() => new Promise<string[]>((res) => setTimeout(() => res([]), 20)));
    }
    expect(keys).toEqual(expect.arrayContaining(['FOO', 'PORT', 'PATH']));
    expect(keys).not.toContain('HANGAR_DRIVER_TEST_SECRET');
    await r.handle.stop(2000);
    expect((await r.exit).code).toBe(0);
  });

  it('splits output into lines: CRLF, chunk boundaries, capped length, last partial line at exit', async () => {
    const script = `
      process.stdout.write('a\\r\\nb');
      setTimeout(() => {
        process.stdout.write('c\\n' + 'x'.repeat(${MAX_LINE_LENGTH + 100}) + '\\nnext\\n');
        process.stderr.write('oops\\npartial');
      }, 20);`;
    const r = await run(script);
    const e = await r.exit;
    expect(e).toEqual({ code: 0, signal: null, calls: 1 });
    const out = r.lines.filter(([s]) => s === 'stdout').map(([, l]) => l);
    expect(out.map((l) => l.length)).toEqual([1, 2, MAX_LINE_LENGTH, 4]);
    expect(out[0]).toBe('a');
    expect(out[1]).toBe('bc');
    expect(out[3]).toBe('next');
    expect(r.lines.filter(([s]) => s === 'stderr').map(([, l]) => l)).toEqual(['oops', 'partial']);
  });

  it('stop() escalates to SIGKILL after the grace period and reaches the whole process group', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      process.on('SIGTERM', () => {});
      const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.log('child ' + c.pid);
      setInterval(() => {}, 1000);`;
    const r = await run(script);
    const childPid = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        const line = r.lines.find(([, l]) => l.startsWith('child '));
        if (line) {
          clearInterval(poll);
          resolve(Number(line[1].slice(6)));
        }
      }, 10);
    });
    await r.handle.stop(200);
    expect((await r.exit).signal).toBe('SIGKILL');
    for (let i = 0; i < 100 && alive(childPid); i++) await new Promise((res) => setTimeout(res, 20));
    expect(alive(childPid)).toBe(false);
  });

  it('kill() ends the runner at once; reap() ignores a pid that is gone', async () => {
    const r = await run('setInterval(() => {}, 1000)');
    r.handle.kill();
    expect((await r.exit).signal).toBe('SIGKILL');
    await expect(driver.reap(r.handle.pid!)).resolves.toBeUndefined();
  });

  it('rejects start when the command cannot be spawned', async () => {
    const bad = { ...spec(''), command: ['/nonexistent/hangar-binary'] };
    await expect(driver.start(bad, { onLine() {}, onExit() {} })).rejects.toThrow(/ENOENT/);
  });
});
