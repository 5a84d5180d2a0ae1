import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  eventually,
  exited,
  requireBuiltCli,
  runCli,
  type Served,
  spawnCli,
  startServe,
  tempDir,
} from './testing/cli-harness.test-helper.js';

let dir: ReturnType<typeof tempDir>;
let server: Served;
let base: NodeJS.ProcessEnv;
let env: NodeJS.ProcessEnv;
let app: string;

beforeAll(async () => {
  requireBuiltCli();
  dir = tempDir('hangar-cli-follow-');
  base = cleanEnv(join(dir.path, 'config'));
  server = await startServe(join(dir.path, 'home'), base);
  env = { ...base, HANGAR_URL: server.url, HANGAR_KEY: server.key ?? '' };
  const deployed = await runCli(['deploy', 'examples/echo-node', '--json'], env);
  expect(deployed.code, deployed.stderr).toBe(0);
  app = JSON.parse(deployed.stdout).endpoint_id;
});

afterAll(async () => {
  await server?.stop();
  dir?.remove();
});

/** The messages the follower printed so far, one parsed JSON entry per line. */
function entries(out: string): { message: string }[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Runs requests that log `count` lines until the follower has printed `message`. */
async function logUntilSeen(
  follower: ReturnType<typeof spawnCli>,
  count: number,
  message: string,
): Promise<void> {
  const read = follower.out;
  await eventually(async () => {
    if (follower.exitCode !== null)
      throw new Error(`follower exited ${follower.exitCode}: ${follower.err()}`);
    if (entries(read()).some((e) => e.message === message)) return true;
    const r = await runCli(['run', app, '--input', JSON.stringify({ logs: count })], env);
    expect(r.code, r.stderr).toBe(0);
    return entries(read()).some((e) => e.message === message) ? true : undefined;
  }, 40);
}

describe('logs --follow', () => {
  it('prints new lines as they are written, and resumes across a server restart without loss or repeats', async () => {
    const follower = spawnCli(['logs', '--app', app, '--follow', '--json'], env);
    try {
      await logUntilSeen(follower, 1, 'log line 1');

      await server.stop();
      server = await startServe(join(dir.path, 'home'), base, server.port);
      // Written right after the restart, most likely before the follower has reconnected: the resumed
      // stream must still deliver it, after the last event it had seen.
      await logUntilSeen(follower, 3, 'log line 3');

      expect(follower.err()).toMatch(/resuming after event \d+/);
      const lines = follower.out().split('\n').filter(Boolean);
      expect(new Set(lines).size).toBe(lines.length);
      const messages = entries(follower.out()).map((e) => e.message);
      expect(messages.filter((m) => m === 'log line 3')).toHaveLength(
        messages.filter((m) => m === 'log line 2').length,
      );
    } finally {
      if (follower.exitCode === null) follower.kill('SIGINT');
    }
    expect(await exited(follower), follower.err()).toBe(0);
  }, 180_000);
});
