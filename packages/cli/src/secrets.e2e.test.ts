import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiTenantIsolation } from '../../server/src/runners/sandbox/availability.test-helper.js';
import {
  type CliRun,
  cleanEnv,
  eventually,
  exited,
  requireBuiltCli,
  runCli,
  spawnCli,
  tempDir,
  waitForOutput,
} from './testing/cli-harness.test-helper.js';

/** The secret under test: long and random, so finding it anywhere can only mean a leak. */
const VALUE = `hk_${randomBytes(16).toString('hex')}`;
const SLOW = 180_000;

/** Prints its secret at start and per request (plain, on stderr, as a JSON line with a label) and answers it. */
const APP = `
import http from 'node:http';
const token = process.env.LEAK_TOKEN ?? 'missing';
console.log('starting with token ' + token);
console.error('ERROR: token on stderr ' + token);
console.log(JSON.stringify({ message: 'json token ' + token, level: 'warn', labels: { tok: token } }));
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    console.log('request sees token ' + token);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ token, got: body ? JSON.parse(body) : null }));
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

let dir: ReturnType<typeof tempDir>;
let home: string;
let env: NodeJS.ProcessEnv;
let url: string;
let adminKey: string;
let server: ReturnType<typeof spawnCli>;
/** Every answer of the Platform API and the CLI that must not hold the value. */
const answers: string[] = [];

const hangar = async (args: string[], input?: string, e = env): Promise<CliRun> => {
  const run = await runCli(args, e, input);
  answers.push(run.stdout, run.stderr);
  return run;
};

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${url}${path}`, {
    ...init,
    headers: { authorization: `Key ${adminKey}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, text };
};

/** Every file under `root`, with its bytes. */
function filesUnder(root: string): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && statSync(path).size > 0) out.push([path, readFileSync(path)]);
  }
  return out;
}

beforeAll(async () => {
  requireBuiltCli();
  dir = tempDir('hangar-secrets-e2e-');
  home = join(dir.path, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({ runners: { isolation: multiTenantIsolation } }),
  );
  // The server logs everything it would log at debug level, as JSON, so its own output is checked too.
  const base = cleanEnv(join(dir.path, 'config'), { HANGAR_LOG_LEVEL: 'debug', HANGAR_LOG_FORMAT: 'json' });
  server = spawnCli(['serve', '--port', '0', '--home', home], base);
  const banner = /listening on (http:\/\/\S+)\n(?:admin key \(owner ([^,]+),[^\n]*\n\s+(\S+)\n)/;
  const [, listening = '', , key = ''] = await waitForOutput(server, server.out, banner);
  url = listening;
  adminKey = key;
  env = { ...base, HANGAR_URL: url, HANGAR_KEY: adminKey, HANGAR_HOME: home };
}, SLOW);

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await exited(server);
  }
  dir?.remove();
});

describe('hangar secrets', () => {
  it(
    'sets from stdin, lists names only, refuses API keys and other owners',
    async () => {
      const set = await hangar(['secrets', 'set', 'LEAK_TOKEN', '--value-stdin'], `${VALUE}\n`);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain('set LEAK_TOKEN');
      const pairs = await hangar(['secrets', 'set', 'OTHER_ONE=first', 'THIRD']);
      expect(pairs.code, pairs.stderr).toBe(2);
      expect((await hangar(['secrets', 'set', 'OTHER_ONE=first=part', 'SPARE=abcd'])).code).toBe(0);
      const list = await hangar(['secrets', 'list', '--json']);
      expect(list.code, list.stderr).toBe(0);
      const rows = JSON.parse(list.stdout) as { name: string; created_at: string; updated_at: string }[];
      expect(rows.map((r) => r.name)).toEqual(['LEAK_TOKEN', 'OTHER_ONE', 'SPARE']);
      expect(Object.keys(rows[0]!).sort()).toEqual(['created_at', 'name', 'updated_at']);
      expect((await hangar(['secrets', 'unset', 'SPARE'])).code).toBe(0);
      const table = await hangar(['secrets', 'list']);
      expect(table.stdout).toMatch(/NAME\s+CREATED\s+UPDATED\n/);
      expect(table.stdout).not.toContain('SPARE');

      const reserved = await hangar(['secrets', 'set', 'PORT', '8080']);
      expect(reserved.code).toBe(2);
      expect(reserved.stderr).toContain('PORT is reserved');

      const apiKey = JSON.parse(
        (await hangar(['keys', 'create', '--owner', 'demo', '--scope', 'API', '--json'])).stdout,
      ).key as string;
      const denied = await hangar(['secrets', 'list'], undefined, { ...env, HANGAR_KEY: apiKey });
      expect(denied.code).toBe(3);
      expect(denied.stderr).toMatch(/Admin/);
      const raw = await fetch(`${url}/v1/secrets/LEAK_TOKEN`, {
        method: 'PUT',
        headers: { authorization: `Key ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'other' }),
      });
      expect(raw.status).toBe(403);
      expect(await raw.json()).toEqual({
        error: { type: 'authorization_error', message: expect.any(String), code: 'AUTH_ADMIN_REQUIRED' },
      });

      const rival = JSON.parse(
        (await hangar(['keys', 'create', '--owner', 'mallory', '--scope', 'ADMIN', '--json'])).stdout,
      ).key as string;
      const rivalEnv = { ...env, HANGAR_KEY: rival };
      expect(JSON.parse((await hangar(['secrets', 'list', '--json'], undefined, rivalEnv)).stdout)).toEqual(
        [],
      );
      const touch = await hangar(['secrets', 'unset', 'LEAK_TOKEN'], undefined, rivalEnv);
      expect(touch.code).toBe(4);
      expect((await hangar(['secrets', 'list', '--json'])).stdout).toContain('LEAK_TOKEN');
    },
    SLOW,
  );

  it(
    'gives the app its secret and keeps the value out of every log line, record, answer and file',
    async () => {
      const src = join(dir.path, 'leaky');
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, 'server.mjs'), APP);
      writeFileSync(
        join(src, 'hangar.json'),
        JSON.stringify({
          name: 'leaky',
          command: ['node', 'server.mjs'],
          machine_type: 'CPU',
          health_path: '/',
          min_concurrency: 0,
          keep_alive: 300,
        }),
      );
      const deploy = await hangar(['deploy', src, '--json']);
      expect(deploy.code, deploy.stderr).toBe(0);

      // fal returns the app's answer as it is: the caller who runs the app gets what it answered.
      const run = await runCli(
        ['run', 'demo/leaky', '--input', JSON.stringify({ echo: VALUE }), '--json'],
        env,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).data).toEqual({ token: VALUE, got: { echo: VALUE } });

      // Stored log lines: the platform's history, masked.
      const logs = await eventually(async () => {
        const r = await hangar(['logs', '--app', 'demo/leaky', '--json', '--limit', '100']);
        return r.stdout.includes('request sees token') ? r.stdout : undefined;
      });
      expect(logs).toContain('starting with token ***');
      expect(logs).toContain('token on stderr ***');
      expect(logs).toContain('json token ***');
      expect(logs).toMatch(/"tok": ?"\*\*\*"/);
      expect(logs).toContain('request sees token ***');

      // Recorded payloads: json_input and json_output in the requests listing.
      const requests = await eventually(async () => {
        const r = await hangar(['requests', 'demo/leaky', '--payloads', '--json']);
        return r.stdout.includes('json_output') && r.stdout.includes('***') ? r.stdout : undefined;
      });
      const [item] = JSON.parse(requests).items;
      expect(item.json_output).toEqual({ token: '***', got: { echo: '***' } });
      expect(item.json_input).toEqual({ echo: '***' });

      for (const path of [
        '/v1/serverless/apps/demo/leaky/events',
        '/v1/serverless/apps/demo/leaky/runners',
        '/v1/serverless/apps',
        '/v1/secrets',
      ]) {
        const res = await api(path);
        expect(res.status, path).toBe(200);
        answers.push(res.text);
      }

      for (const text of answers) expect(text).not.toContain(VALUE);
      // The server's own log output (pino, debug level) while all of this happened, and after shutdown.
      server.kill('SIGTERM');
      expect(await exited(server)).toBe(0);
      const serverOutput = server.out() + server.err();
      expect(serverOutput.length).toBeGreaterThan(0);
      expect(serverOutput).not.toContain(VALUE);
      // Every byte the server keeps: the database (and its WAL), bundles, storage, keys.
      const files = filesUnder(home);
      expect(files.some(([path]) => path.endsWith('hangar.db'))).toBe(true);
      const leaking = files
        .filter(([, bytes]) => bytes.includes(VALUE))
        .map(([path]) => path.slice(home.length));
      expect(leaking).toEqual([]);
    },
    SLOW,
  );

  it(
    'refuses to start with a key that never sealed the stored secrets, and starts again with the right one',
    async () => {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await exited(server);
      }
      const keyFile = join(home, 'secrets.key');
      const fileKey = readFileSync(keyFile, 'utf8').trim();
      rmSync(keyFile);
      const wrong = randomBytes(32).toString('base64');
      const refused = await runCli(['serve', '--port', '0', '--home', home], {
        ...env,
        HANGAR_SECRETS_KEY: wrong,
      });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/sealed with key [0-9a-f]{16} \(owners: demo\)/);
      expect(refused.stderr + refused.stdout).not.toContain(wrong);
      // Rotation: the new key current, the old one previous; start-up re-seals.
      const rotated = spawnCli(['serve', '--port', '0', '--home', home], {
        ...env,
        HANGAR_SECRETS_KEY: wrong,
        HANGAR_SECRETS_KEY_PREVIOUS: fileKey,
      });
      await waitForOutput(rotated, rotated.out, /secrets re-sealed with the current key[\s\S]*listening on/);
      rotated.kill('SIGTERM');
      await exited(rotated);
      const again = spawnCli(['serve', '--port', '0', '--home', home], { ...env, HANGAR_SECRETS_KEY: wrong });
      // Started: the secrets open with the new key alone.
      await waitForOutput(again, again.out, /listening on/);
      expect(again.out()).not.toContain('re-sealed');
      again.kill('SIGTERM');
      await exited(again);
    },
    SLOW,
  );
});
