import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerDriver, RunnerHandle, RunnerHooks, RunnerPhase, RunnerSpec } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LINE_LENGTH } from './line-splitter.js';

/** What a test names of a runner to start; everything else gets a plain default. */
export interface TestRunnerSpec {
  runnerId: string;
  owner: string;
  app?: string;
  dir: string;
  dataDir: string;
  command: string[];
  env?: Record<string, string>;
  secrets?: Record<string, string>;
  node?: string;
  gpus?: { count: number; product: string | null } | null;
}

/** A bundle runner's spec for driver tests (revision `rev`, machine type `CPU`, node `test`). */
export function runnerSpec(t: TestRunnerSpec): RunnerSpec {
  const app = t.app ?? 'a';
  return {
    runnerId: t.runnerId,
    owner: t.owner,
    app,
    revisionId: 'rev',
    machineType: 'CPU',
    artifact: { kind: 'bundle', digest: null, dir: t.dir, command: t.command },
    dataDir: t.dataDir,
    env: t.env ?? {},
    secrets: t.secrets ?? {},
    resources: { cpu: null, memoryMb: null, gpus: t.gpus ?? null },
    healthPath: '/health',
    labels: { owner: t.owner, app, revisionId: 'rev', runnerId: t.runnerId, node: t.node ?? 'test' },
    placement: null,
  };
}

/** Hooks that only record, for tests that need none of them. */
export function quietHooks(over: Partial<RunnerHooks> = {}): RunnerHooks {
  return { onLine() {}, onExit() {}, onPhase() {}, ...over };
}

/**
 * The lifecycle every runner driver honours, whatever it runs runners on: one suite, run against each
 * driver (`describeRunnerDriver('process', …)`, `describeRunnerDriver('sandbox', …)`). It only speaks
 * through the port: a spec in, phases, output lines and an exit out, an HTTP URL, stop/kill, and
 * discovery by label with remove.
 */
export function describeRunnerDriver(
  name: string,
  open: () => RunnerDriver,
  skip: string | null = null,
): void {
  describe.skipIf(skip !== null)(`runner driver contract: ${name}`, () => {
    let driver: RunnerDriver;
    let root: string;
    let n = 0;

    beforeAll(() => {
      driver = open();
      root = mkdtempSync(join(tmpdir(), `hangar-driver-${name}-`));
      mkdirSync(join(root, 'data'));
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    function spec(
      script: string,
      env: Record<string, string> = {},
      secrets: Record<string, string> = {},
    ): RunnerSpec {
      const id = `${name}-${++n}`;
      const dir = join(root, id);
      mkdirSync(join(dir, 'app'), { recursive: true });
      return runnerSpec({
        runnerId: id,
        owner: 'contract',
        dir: join(dir, 'app'),
        dataDir: join(root, 'data'),
        command: ['node', '-e', script],
        env,
        secrets,
        node: `contract-${name}`,
      });
    }

    interface Run {
      handle: RunnerHandle;
      lines: Array<[string, string]>;
      phases: RunnerPhase[];
      exit: Promise<{ code: number | null; signal: string | null; calls: number }>;
    }

    async function run(
      script: string,
      env: Record<string, string> = {},
      secrets: Record<string, string> = {},
    ): Promise<Run> {
      const lines: Array<[string, string]> = [];
      const phases: RunnerPhase[] = [];
      let calls = 0;
      let done!: (v: { code: number | null; signal: string | null; calls: number }) => void;
      const exit = new Promise<{ code: number | null; signal: string | null; calls: number }>((r) => {
        done = r;
      });
      const handle = await driver.start(spec(script, env, secrets), {
        onLine: (stream, line) => lines.push([stream, line]),
        onExit: (code, signal) => {
          calls++;
          done({ code, signal, calls });
        },
        onPhase: (phase) => phases.push(phase),
      });
      return { handle, lines, phases, exit };
    }

    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
      if (!check()) throw new Error(`timed out waiting for ${what}`);
    };

    it('serves HTTP on its PORT with only its own variables, its secrets and DATA_DIR', async () => {
      process.env['HANGAR_DRIVER_TEST_SECRET'] = 'x';
      const script = `
        const http = require('node:http');
        http.createServer((q, s) => s.end(JSON.stringify(process.env))).listen(+process.env.PORT, '127.0.0.1');
        process.on('SIGTERM', () => process.exit(0));`;
      // Secrets join the environment over the spec's env, never over what the platform sets.
      const r = await run(script, { FOO: 'bar', TOKEN: 'env' }, { TOKEN: 'tok-1', PORT: '1' });
      delete process.env['HANGAR_DRIVER_TEST_SECRET'];
      expect(r.handle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(r.handle.ref).not.toBe('');
      expect(r.handle.gpus).toEqual([]);
      // SETUP is reported before start() resolves, once.
      expect(r.phases.filter((p) => p === 'SETUP')).toEqual(['SETUP']);
      let env: Record<string, string> = {};
      for (let i = 0; i < 250 && Object.keys(env).length === 0; i++) {
        env = await fetch(r.handle.url)
          .then((res) => res.json() as Promise<Record<string, string>>)
          .catch(() => new Promise<Record<string, string>>((res) => setTimeout(() => res({}), 20)));
      }
      expect(env['FOO']).toBe('bar');
      expect(env['TOKEN']).toBe('tok-1');
      expect(env['PORT']).toBe(new URL(r.handle.url).port);
      expect(env['DATA_DIR']).toBeTruthy();
      expect(env['PATH']).toBeTruthy();
      expect(env['HANGAR_DRIVER_TEST_SECRET']).toBeUndefined();
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
      expect(out[1]).toBe('bc');
      expect(r.lines.filter(([s]) => s === 'stderr').map(([, l]) => l)).toEqual(['oops', 'partial']);
    });

    it('stop() sends SIGTERM, escalates to SIGKILL after the grace period and ends every process', async () => {
      // A child that ignores nothing but outlives its parent unless the driver reaches it: it touches a
      // heartbeat file in DATA_DIR, which stops changing once it is gone.
      const beat = `beat-${name}-${n + 1}`;
      const script = `
        const { spawn } = require('node:child_process');
        process.on('SIGTERM', () => console.log('got SIGTERM'));
        const file = require('node:path').join(process.env.DATA_DIR, '${beat}');
        spawn(process.execPath, ['-e', "setInterval(() => require('fs').writeFileSync(" + JSON.stringify(file) + ", String(Date.now())), 20)"], { stdio: 'ignore' });
        console.log('ready');
        setInterval(() => {}, 1000);`;
      const r = await run(script);
      await until(() => r.lines.some(([, l]) => l === 'ready'), 'the app to start');
      const heartbeat = join(root, 'data', beat);
      await until(() => {
        try {
          return statSync(heartbeat).size > 0;
        } catch {
          return false;
        }
      }, 'the heartbeat');
      await r.handle.stop(300);
      expect((await r.exit).signal).toBe('SIGKILL');
      expect(r.lines.some(([, l]) => l === 'got SIGTERM')).toBe(true);
      const last = readFileSync(heartbeat, 'utf8');
      await new Promise((res) => setTimeout(res, 200));
      expect(readFileSync(heartbeat, 'utf8')).toBe(last);
    });

    it('kill() ends the runner at once', async () => {
      const r = await run('setInterval(() => {}, 1000)');
      r.handle.kill();
      expect((await r.exit).signal).toBe('SIGKILL');
    });

    it('discover() finds live runners by node label; remove() ends one and is idempotent', async () => {
      const node = `contract-${name}`;
      const r = await run('setInterval(() => {}, 1000)');
      const found = (await driver.discover(node)).find((f) => f.labels.runnerId === r.handle.runnerId);
      expect(found).toEqual({
        ref: r.handle.ref,
        alive: true,
        labels: { owner: 'contract', app: 'a', revisionId: 'rev', runnerId: r.handle.runnerId, node },
      });
      expect((await driver.discover('another-node')).map((f) => f.labels.runnerId)).not.toContain(
        r.handle.runnerId,
      );
      await driver.remove(r.handle.ref);
      expect((await r.exit).signal).toBe('SIGKILL');
      await expect(driver.remove(r.handle.ref)).resolves.toBeUndefined();
      const left = (await driver.discover(node)).map((f) => f.labels.runnerId);
      expect(left).not.toContain(r.handle.runnerId);
    });

    it('a runner that ended is no longer discovered', async () => {
      const r = await run('process.exit(3)');
      expect((await r.exit).code).toBe(3);
      const left = (await driver.discover(`contract-${name}`)).map((f) => f.labels.runnerId);
      expect(left).not.toContain(r.handle.runnerId);
    });

    it('start() rejects an image artifact it cannot run', async () => {
      const s = spec('');
      await expect(
        driver.start(
          { ...s, artifact: { kind: 'image', image: 'example/app:1', command: null } },
          quietHooks(),
        ),
      ).rejects.toMatchObject({ code: 'RUNNER_IMAGE_UNSUPPORTED', message: expect.stringMatching(/image/) });
    });

    it('start() rejects once its abort signal fires, leaving nothing running', async () => {
      const abort = new AbortController();
      abort.abort();
      const s = spec('setInterval(() => {}, 1000)');
      await expect(driver.start(s, quietHooks(), abort.signal)).rejects.toThrow();
      const left = (await driver.discover(`contract-${name}`)).map((f) => f.labels.runnerId);
      expect(left).not.toContain(s.runnerId);
    });
  });
}
