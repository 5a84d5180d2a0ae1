import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiTenantIsolation } from '../../server/src/runners/sandbox/availability.test-helper.js';
import {
  cleanEnv,
  REPO,
  requireBuiltCli,
  runCli,
  type Served,
  startServe,
  tempDir,
} from './testing/cli-harness.test-helper.js';

let dir: ReturnType<typeof tempDir>;
let home: string;
let server: Served;
let env: NodeJS.ProcessEnv;
let rivalEnv: NodeJS.ProcessEnv;
let app: string;
let revs: string[];

/** Each test spawns several processes; a loaded CI machine needs more than the default timeout. */
const SLOW = 180_000;

const hangar = (args: string[], e = env) => runCli(args, e);

// biome-ignore lint/suspicious/noExplicitAny: the tests read several answer shapes by field
async function json(args: string[]): Promise<Record<string, any>> {
  const out = await hangar([...args, '--json']);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout);
}

async function runners(): Promise<{ runner_id: string; revision_id: string; state: string }[]> {
  return (await json(['runners', 'list', app])).runners;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  requireBuiltCli();
  dir = tempDir('hangar-appops-e2e-');
  home = join(dir.path, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({ runners: { isolation: multiTenantIsolation } }),
  );
  const base = cleanEnv(join(dir.path, 'config'));
  server = await startServe(home, base);
  if (!server.key) throw new Error('serve printed no admin key');
  env = { ...base, HANGAR_URL: server.url, HANGAR_KEY: server.key, HANGAR_HOME: home };
  const src = join(dir.path, 'ops');
  cpSync(join(REPO, 'examples', 'echo-node'), src, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(src, 'hangar.json'), 'utf8'));
  writeFileSync(join(src, 'hangar.json'), JSON.stringify({ ...manifest, name: 'ops', min_concurrency: 1 }));
  app = `${server.owner}/ops`;
  revs = [];
  for (const message of ['first', 'second'])
    revs.push((await json(['deploy', src, '--message', message])).revision_id);
  const rival = await json(['keys', 'create', '--owner', 'mallory', '--scope', 'ADMIN']);
  rivalEnv = { ...env, HANGAR_KEY: rival.key };
}, SLOW);

afterAll(async () => {
  await server?.stop();
  dir?.remove();
});

describe('hangar apps operations and hangar runners', () => {
  it(
    'scales the live app and keeps the setting across a restart',
    async () => {
      const res = await json(['apps', 'scale', app, '--min-concurrency', '2', '--keep-alive', '30']);
      expect(res).toMatchObject({ endpoint_id: app, min_concurrency: 2, keep_alive: 30 });
      await until(runners, (rs) => rs.filter((r) => r.state === 'idle').length >= 2);
      const port = server.port;
      await server.stop();
      server = await startServe(home, env, port);
      const listed = await json(['apps', 'list']);
      expect(listed.apps.find((a: { endpoint_id: string }) => a.endpoint_id === app)).toMatchObject({
        min_concurrency: 2,
        keep_alive: 30,
      });
      await until(runners, (rs) => rs.filter((r) => r.state === 'idle').length >= 2);
      expect((await hangar(['apps', 'scale', app])).code).toBe(2);
      expect((await hangar(['apps', 'scale', app, '--min-concurrency', '-1'])).code).toBe(2);
      const tooMany = await hangar(['apps', 'scale', app, '--min-concurrency', '9']);
      expect(tooMany.code).toBe(2);
      expect(tooMany.stderr).toMatch(/must be >= min_concurrency/);
      const cross = await hangar(['apps', 'scale', app, '--min-concurrency', '0'], rivalEnv);
      expect(cross.code).toBe(3);
      const human = await hangar(['apps', 'scale', app, '--min-concurrency', '1']);
      expect(human.stdout).toMatch(/runners 1-4/);
    },
    SLOW,
  );

  it(
    'switches revisions, waits for the old runners to drain, and rolls out by percentage',
    async () => {
      const [first, second] = revs as [string, string];
      const back = await json(['apps', 'set-rev', app, first]);
      expect(back).toMatchObject({ revision_id: first, previous_revision_id: second });
      expect((await runners()).every((r) => r.revision_id === first)).toBe(true);
      expect((await hangar(['apps', 'set-rev', app, 'nope'])).code).toBe(4);
      expect((await hangar(['apps', 'set-rev', app, second], rivalEnv)).code).toBe(3);

      const started = await json(['apps', 'rollout', app, '--to', second, '--percent', '10']);
      expect(started).toMatchObject({ revision_id: second, percent: 10, current_revision_id: first });
      const raised = await json(['apps', 'rollout', app, '--percent', '50']);
      expect(raised).toMatchObject({ revision_id: second, percent: 50 });
      const shown = await json(['apps', 'rollout', app]);
      expect(shown).toMatchObject({ revision_id: second, percent: 50, traffic: expect.any(Array) });
      expect((await hangar(['apps', 'rollout', app, '--percent', '150'])).code).toBe(2);
      expect((await hangar(['apps', 'rollout', app, '--promote', '--abort'])).code).toBe(2);
      const live = await hangar(['apps', 'delete-rev', app, second]);
      expect(live.code).toBe(1);
      expect(live.stderr).toMatch(/serves traffic/);
      const promoted = await hangar(['apps', 'rollout', app, '--promote']);
      expect(promoted.code, promoted.stderr).toBe(0);
      expect(promoted.stdout).toMatch(new RegExp(`promoted ${second}`));
      expect((await runners()).every((r) => r.revision_id === second)).toBe(true);
      expect((await hangar(['apps', 'rollout', app, '--abort'])).code).toBe(1);
      const events = await json(['apps', 'events', app, '--limit', '1000']);
      const categories = events.events.map((e: { category: string }) => e.category);
      expect(categories).toEqual(
        expect.arrayContaining(['deployment_rolling_started', 'deployment_rolling_ended']),
      );
    },
    SLOW,
  );

  it(
    'lists, stops and kills runners',
    async () => {
      const [one] = await until(runners, (rs) => rs.some((r) => r.state === 'idle'));
      const table = await hangar(['runners', 'list', app]);
      expect(table.stdout).toMatch(/RUNNER\s+REVISION\s+STATE\s+IN STATE\s+UPTIME\s+IN FLIGHT/);
      expect(table.stdout).toContain(one!.runner_id);
      const stopped = await json(['runners', 'stop', app, one!.runner_id]);
      expect(stopped.runner).toMatchObject({ runner_id: one!.runner_id, stopping: true });
      await until(runners, (rs) => rs.every((r) => r.runner_id !== one!.runner_id));
      const [two] = await until(runners, (rs) => rs.some((r) => r.state === 'idle'));
      const killed = await hangar(['runners', 'kill', app, two!.runner_id]);
      expect(killed.code, killed.stderr).toBe(0);
      expect(killed.stdout).toMatch(/killed/);
      expect((await hangar(['runners', 'kill', app, 'nope'])).code).toBe(4);
      expect((await hangar(['runners', 'list', app], rivalEnv)).code).toBe(3);
    },
    SLOW,
  );

  it(
    'deletes a revision and then the app',
    async () => {
      const [first] = revs as [string, string];
      expect((await json(['apps', 'delete-rev', app, first])).deleted).toBe(true);
      expect((await hangar(['apps', 'delete-rev', app, first])).code).toBe(4);
      expect((await hangar(['apps', 'delete', app], rivalEnv)).code).toBe(3);
      const gone = await json(['apps', 'delete', app]);
      expect(gone).toMatchObject({ endpoint_id: app, deleted: true });
      expect((await hangar(['apps', 'delete', app])).code).toBe(4);
      const call = await fetch(`${server.url}/run/${app}`, {
        method: 'POST',
        headers: { authorization: `Key ${env.HANGAR_KEY}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(call.status).toBe(404);
    },
    SLOW,
  );
});
