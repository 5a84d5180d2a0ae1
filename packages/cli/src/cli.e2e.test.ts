import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHangarClient } from '@hangar/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  type CliRun,
  cleanEnv,
  closedPort,
  eventually,
  exited,
  REPO,
  requireBuiltCli,
  runCli,
  type Served,
  spawnCli,
  startServe,
  tempDir,
  waitForOutput,
} from './testing/cli-harness.test-helper.js';

const COMMANDS = [
  [],
  ['serve'],
  ['deploy'],
  ['apps', 'list'],
  ['apps', 'show'],
  ['apps', 'revisions'],
  ['apps', 'events'],
  ['apps', 'runners'],
  ['run'],
  ['files', 'ls'],
  ['files', 'download'],
  ['files', 'upload'],
  ['files', 'upload-url'],
  ['files', 'rm'],
  ['files', 'mv'],
  ['requests'],
  ['usage'],
  ['logs'],
  ['analytics'],
  ['metrics'],
  ['queue', 'size'],
  ['queue', 'flush'],
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'revoke'],
  ['login'],
];

let dir: ReturnType<typeof tempDir>;
let server: Served;
let env: NodeJS.ProcessEnv;
let app: string;

/** Each test spawns several processes; a loaded CI machine needs more than the default timeout. */
const SLOW = 180_000;

const hangar = (args: string[], input?: string) => runCli(args, env, input);
const json = async (args: string[]) => {
  const r = await hangar([...args, '--json']);
  expect(r.stderr, `${args.join(' ')}: ${r.stderr}`).not.toMatch(/^error/m);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  requireBuiltCli();
  dir = tempDir('hangar-cli-e2e-');
  const base = cleanEnv(join(dir.path, 'config'));
  server = await startServe(join(dir.path, 'home'), base);
  if (!server.key) throw new Error('serve printed no admin key');
  env = { ...base, HANGAR_URL: server.url, HANGAR_KEY: server.key };
  const deployed = await hangar(['deploy', 'examples/echo-node', '--message', 'e2e', '--json']);
  expect(deployed.code, deployed.stderr).toBe(0);
  app = JSON.parse(deployed.stdout).endpoint_id;
});

afterAll(async () => {
  await server?.stop();
  dir?.remove();
});

describe('help', () => {
  it(
    'every command has --help with an example',
    async () => {
      const runs = await Promise.all(COMMANDS.map((cmd) => hangar([...cmd, '--help'])));
      for (const [i, cmd] of COMMANDS.entries()) {
        const r = runs[i] ?? { code: null, stdout: '' };
        expect(r.code, cmd.join(' ')).toBe(0);
        expect(r.stdout).toContain(`Usage: hangar${cmd.length ? ` ${cmd.join(' ')}` : ''}`);
        if (cmd.length > 0) expect(r.stdout, cmd.join(' ')).toMatch(/Examples?:\n {2}\$ hangar /);
      }
    },
    SLOW,
  );
});

describe('exit codes', () => {
  it(
    '2 for bad usage, 3 for a bad key, 4 for an unknown app, 5 when unreachable',
    async () => {
      expect((await hangar(['requests'])).code).toBe(2);
      expect((await hangar(['logs', '--since', 'yesterday-ish'])).code).toBe(2);
      const badJson = await hangar(['run', app, '--input', '{nope']);
      expect(badJson.code).toBe(2);
      expect(badJson.stderr).toMatch(/^error: --input is not valid JSON/);

      const badKey = await hangar(['files', 'ls', '--key', 'nope:nope']);
      expect(badKey.code).toBe(3);
      expect(badKey.stderr.trim().split('\n')).toHaveLength(1);

      const unknown = await hangar(['run', `${server.owner}/no-such-app`]);
      expect(unknown.code).toBe(4);
      expect((await hangar(['queue', 'size', `${server.owner}/no-such-app`])).code).toBe(4);

      const down = await hangar(['apps', 'list', '--url', `http://127.0.0.1:${await closedPort()}`]);
      expect(down.code).toBe(5);
      expect(down.stderr).toMatch(/^error: Cannot reach/);
    },
    SLOW,
  );
});

describe('login', () => {
  it(
    'saves a profile that later commands use without flags or environment',
    async () => {
      const { HANGAR_URL: _u, HANGAR_KEY: _k, ...bare } = env;
      const login = await runCli(['login', '--url', server.url, '--key', server.key ?? ''], bare);
      expect(login.code, login.stderr).toBe(0);
      const listed = await runCli(['apps', 'list', '--json'], bare);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).apps.length).toBeGreaterThan(0);
    },
    SLOW,
  );
});

describe('run', () => {
  it(
    'calls an app synchronously and prints its answer',
    async () => {
      const r = await hangar(['run', app, '--input', '{"prompt":"hi"}']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).echo).toEqual({ prompt: 'hi' });
    },
    SLOW,
  );

  it(
    'reads the input from a file, goes through the queue and streams the logs',
    async () => {
      const input = join(dir.path, 'input.json');
      writeFileSync(input, JSON.stringify({ sleep_ms: 700, tag: 'queued' }));
      const r = await hangar(['run', `${app}/slow`, '--input', `@${input}`, '--queue']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/request \S+ queued, position \d+/);
      expect(r.stderr).toContain('progress 1');
      expect(JSON.parse(r.stdout).echo).toEqual({ sleep_ms: 700, tag: 'queued' });
    },
    SLOW,
  );

  it(
    'cancels the request on Ctrl-C when stdin is not a terminal',
    async () => {
      const child = spawnCli(['run', `${app}/slow`, '--input', '{"sleep_ms":60000}', '--queue'], env);
      const [, id] = await waitForOutput(child, child.err, /request (\S+) queued/);
      await waitForOutput(child, child.err, /running|queued, position/);
      child.kill('SIGINT');
      expect(await exited(child), child.err()).toBe(130);
      expect(child.err()).toMatch(/cancelled|already completed/);
      const client = createHangarClient({ url: server.url, key: server.key ?? '' });
      const status = await eventually(async () => {
        const s = await client.queue.status(app, id ?? '');
        return s.status === 'COMPLETED' ? s : undefined;
      });
      expect(status.error).toBeDefined();
    },
    SLOW,
  );
});

describe('files', () => {
  it(
    'uploads, lists, downloads, moves and removes with identical bytes',
    async () => {
      const local = join(dir.path, 'tree');
      mkdirSync(join(local, 'sub'), { recursive: true });
      const big = randomBytes(2 * 1024 * 1024 + 17);
      writeFileSync(join(local, 'big.bin'), big);
      writeFileSync(join(local, 'sub', 'small.txt'), 'hello');

      const up = await json(['files', 'upload', local, 'e2e/tree']);
      expect(up.files).toHaveLength(2);
      expect(up.bytes).toBe(big.length + 5);
      const listing = await json(['files', 'ls', 'e2e/tree']);
      expect(listing.map((e: { name: string }) => e.name).sort()).toEqual(['big.bin', 'sub']);
      expect(listing.find((e: { name: string }) => e.name === 'big.bin').size).toBe(big.length);
      const first = await json(['files', 'ls', 'e2e/tree', '--limit', '1']);
      expect(first.entries.map((e: { name: string }) => e.name)).toEqual(['big.bin']);
      const second = await json(['files', 'ls', 'e2e/tree', '--limit', '1', '--cursor', first.next_cursor]);
      expect(second).toMatchObject({ entries: [{ name: 'sub' }], next_cursor: null, has_more: false });
      expect((await hangar(['files', 'ls', 'e2e/tree', '--limit', '0'])).code).not.toBe(0);

      const out = join(dir.path, 'back');
      await json(['files', 'download', 'e2e/tree', out]);
      expect(readFileSync(join(out, 'big.bin')).equals(big)).toBe(true);
      expect(readFileSync(join(out, 'sub', 'small.txt'), 'utf8')).toBe('hello');

      await json(['files', 'mv', 'e2e/tree/big.bin', 'e2e/moved.bin']);
      const single = join(dir.path, 'single.bin');
      await json(['files', 'download', 'e2e/moved.bin', single]);
      expect(readFileSync(single).equals(big)).toBe(true);

      await json(['files', 'rm', 'e2e/tree']);
      const after = await json(['files', 'ls', 'e2e']);
      expect(after.map((e: { name: string }) => e.name)).toEqual(['moved.bin']);
      const human = await hangar(['files', 'ls', 'e2e']);
      expect(human.stdout).toMatch(/^NAME\s+SIZE\s+UPDATED\nmoved\.bin\s+2\.0 MiB/);
      expect((await hangar(['files', 'download', 'e2e/missing.bin', single])).code).toBe(4);
      const refused = await hangar(['files', 'upload-url', 'http://127.0.0.1:9/x.bin', 'e2e/x.bin']);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    },
    SLOW,
  );
});

describe('reports', () => {
  beforeAll(async () => {
    const r = await hangar(['run', app, '--input', '{"logs":2,"billable_units":3}']);
    expect(r.code, r.stderr).toBe(0);
  }, SLOW);

  it(
    'requests --json has the API page shape',
    async () => {
      const page = await eventually(async () => {
        const p = await json(['requests', app, '--billing', '--payloads', '--limit', '2']);
        return p.items.length > 0 ? p : undefined;
      });
      expect(Object.keys(page).sort()).toEqual(['has_more', 'items', 'next_cursor']);
      expect(page.items[0]).toMatchObject({
        request_id: expect.any(String),
        endpoint_id: expect.stringContaining(app),
      });
      expect(page.items[0]).toHaveProperty('billable_units');
      const all = await json(['requests', app, '--all', '--limit', '1']);
      expect(all.has_more).toBe(false);
      expect(all.items.length).toBeGreaterThanOrEqual(page.items.length);
    },
    SLOW,
  );

  it(
    'usage --json and the human cost total',
    async () => {
      const usage = await json(['usage', '--since', '1h']);
      expect(usage).toHaveProperty('next_cursor');
      expect(Array.isArray(usage.time_series)).toBe(true);
      expect(Array.isArray(usage.summary)).toBe(true);
      const summary = await json(['usage', '--since', '1h', '--summary']);
      expect(summary.time_series).toBeUndefined();
      const human = await hangar(['usage', '--since', '2h', '--timeframe', 'hour', '--tz', 'Europe/Paris']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^total: \S+ USD \(.* machine-seconds\)$/m);
    },
    SLOW,
  );

  it(
    'logs --json lists entries of the app',
    async () => {
      const entries = await eventually(async () => {
        const e = await json(['logs', '--app', app, '--search', 'log line', '--since', '1h']);
        return e.length > 0 ? e : undefined;
      });
      expect(entries[0]).toMatchObject({
        timestamp: expect.any(String),
        level: 'info',
        app: expect.any(String),
      });
      expect(entries.map((e: { message: string }) => e.message)).toContain('log line 1');
      const human = await hangar([
        'logs',
        '--app',
        app,
        '--search',
        'log line',
        '--since',
        '1h',
        '--limit',
        '2',
      ]);
      expect(human.stdout.trim().split('\n')).toHaveLength(2);
      expect(human.stdout).toMatch(/^\S+Z INFO {2}echo log line \d$/m);
    },
    SLOW,
  );

  it(
    'analytics, metrics, apps and queue answer with their documented shapes',
    async () => {
      const analytics = await json([
        'analytics',
        app,
        '--since',
        '1h',
        '--metrics',
        'request_count,p50_duration',
      ]);
      expect(Array.isArray(analytics.time_series)).toBe(true);
      const summary = await json(['analytics', app, '--since', '1h', '--summary']);
      expect(summary.summary[0]).toHaveProperty('endpoint_id');
      const metrics = await json(['metrics']);
      expect(metrics.some((s: { name: string }) => s.name.startsWith('fal_app_'))).toBe(true);
      expect((await hangar(['metrics'])).stdout).toContain('# TYPE fal_app_queue_size gauge');

      const apps = await json(['apps', 'list']);
      expect(apps.apps.map((a: { endpoint_id: string }) => a.endpoint_id)).toContain(app);
      const shown = await json(['apps', 'show', app]);
      expect(shown.app.endpoint_id).toBe(app);
      expect(shown.current_revision.message).toBe('e2e');
      expect((await json(['apps', 'revisions', app, '--all'])).revisions.length).toBeGreaterThan(0);
      expect((await json(['apps', 'events', app, '--since', '1h'])).events).toBeInstanceOf(Array);
      expect((await json(['apps', 'runners', app, '--since', '1h'])).history).toBeInstanceOf(Array);
      expect(await json(['queue', 'size', app])).toEqual({ queue_size: expect.any(Number) });
      expect((await hangar(['queue', 'flush', app])).code).toBe(0);
    },
    SLOW,
  );
});

/** `hangar ARGS | head -c 10` in bash with pipefail, so the exit code is the CLI's (head exits 0). */
function pipedIntoHead(args: string[]): Promise<CliRun> {
  const child = spawn(
    'bash',
    ['-c', 'set -o pipefail; "$@" | head -c 10', 'bash', process.execPath, CLI, ...args],
    {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a reader that closes the output early', () => {
  it(
    'ends run and requests quietly with exit code 0',
    async () => {
      // Every output below is several times a pipe's 64 KiB buffer, so the CLI is still writing after
      // head has read its 10 bytes and exited.
      const client = createHangarClient({ url: server.url, key: server.key ?? '' });
      const text = 'x'.repeat(40_000);
      await Promise.all(Array.from({ length: 6 }, () => client.queue.run(app, { text })));
      const inputFile = join(dir.path, 'big-input.json');
      writeFileSync(inputFile, JSON.stringify({ text: 'y'.repeat(300_000) }));

      for (const args of [
        ['requests', app, '--payloads', '--json'],
        ['run', app, '--input', `@${inputFile}`],
      ]) {
        const r = await pipedIntoHead(args);
        // `run` notes the request id on stderr; nothing else may appear there.
        expect(r.stderr.replace(/^request \S+\n/, ''), args.join(' ')).toBe('');
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout).toHaveLength(10);
      }
    },
    SLOW,
  );
});
