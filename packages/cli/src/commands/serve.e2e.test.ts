import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellWord } from '../banner.js';
import {
  CLI,
  cleanEnv,
  exited,
  requireBuiltCli,
  runCli,
  spawnCli,
  tempDir,
  waitForOutput,
} from '../testing/cli-harness.test-helper.js';

// `hangar serve` refuses a bad option before starting anything, with exit code 2 and one clear line.
const dir = tempDir('hangar-serve-');
beforeAll(() => requireBuiltCli());
afterAll(() => dir.remove());

async function serveWith(config: unknown) {
  const home = join(dir.path, `home-${Math.random().toString(16).slice(2)}`);
  mkdirSync(home);
  writeFileSync(join(home, 'hangar.config.json'), JSON.stringify(config));
  return runCli(['serve', '--home', home, '--port', '0'], cleanEnv(dir.path));
}

describe('hangar serve with a bad config file', () => {
  it.each([
    [{ files: { url_allowlist: ['ftp://files.example.com/'] } }, 'files.url_allowlist: not an http(s) URL'],
    [{ files: { url_allowlist: ['https://u:p@files.example.com/'] } }, 'files.url_allowlist: a URL prefix'],
    [{ files: { url_allowlist: ['10.0.0.0/99'] } }, 'files.url_allowlist: Invalid allowlist entry'],
    [{ webhooks: { allowlist: ['10.0.0.0/99'] } }, 'webhooks.allowlist: Invalid allowlist entry'],
    [{ limits: { storage_quota_bytes: -1 } }, 'limits.storage_quota_bytes must be >= 0'],
  ])('exits 2 for %j', async (config, message) => {
    const run = await serveWith(config);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

/** `script` gives the server a terminal as stdout, as `npm start` has in a shell. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
if (!SCRIPT) console.warn('hangar serve terminal test skipped: no `script` command (util-linux)');

/** Ids of a process's children (Linux). */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Lines of output as a terminal shows them (carriage returns of the tty dropped). */
const lines = (out: string) => out.replaceAll('\r', '').split('\n');

/** The message the server logs at start about runner isolation. */
const ISOLATION = /(runners are sandboxed|runners are not sandboxed|single-tenant mode)/;

describe('hangar serve output', () => {
  it.skipIf(!SCRIPT)(
    'at a terminal: readable log lines, the dashboard and a curl line that works',
    async () => {
      const home = join(dir.path, 'tty-home');
      // `exec`, so the server is the terminal's only process and gets SIGTERM itself (and stops its runners).
      const command = `exec ${[process.execPath, CLI, 'serve', '--port', '0', '--home', home, '--demo']
        .map(shellWord)
        .join(' ')}`;
      const child = spawn(SCRIPT!, ['-qfec', command, '/dev/null'], {
        cwd: dir.path,
        env: cleanEnv(dir.path, { HANGAR_LOG_LEVEL: 'info' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
      });
      try {
        await waitForOutput(child, () => out, /npx hangar --help/);
        const shown = lines(out);
        expect(
          shown.filter((l) => l.startsWith('{')),
          out,
        ).toEqual([]);
        const isolation = shown.find((l) => ISOLATION.test(l));
        expect(isolation, out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (INFO|WARN) {2}\S/);
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
        expect(shown).toContain(`Dashboard  ${url}/  (sign in with the admin key)`);
        const curl =
          shown
            .find((l) => l.startsWith('Try '))
            ?.slice('Try'.length)
            .trim() ?? '';
        expect(curl).toMatch(
          new RegExp(`^curl -s -X POST ${url}/run/demo/echo -H "Authorization: Key \\S+:\\S+"`),
        );
        const answer = execFileSync('sh', ['-c', curl], { cwd: dir.path, encoding: 'utf8' });
        expect(JSON.parse(answer).echo).toEqual({ hello: 'world' });
      } finally {
        const server = childrenOf(child.pid);
        for (const pid of server) process.kill(pid, 'SIGTERM');
        if (server.length === 0) child.kill('SIGTERM');
        await exited(child);
      }
    },
    120_000,
  );

  it('into a pipe: JSON log lines, then the banner', async () => {
    const home = join(dir.path, 'pipe-home');
    const child = spawnCli(
      ['serve', '--port', '0', '--home', home],
      cleanEnv(dir.path, { HANGAR_LOG_LEVEL: 'info' }),
    );
    try {
      await waitForOutput(child, child.out, /npx hangar --help/);
      const isolation = lines(child.out()).find((l) => ISOLATION.test(l)) ?? '';
      expect(JSON.parse(isolation)).toMatchObject({
        level: expect.any(Number),
        msg: expect.stringMatching(ISOLATION),
      });
      expect(child.out()).toMatch(/^Try {8}curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/serverless\/apps /m);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  }, 60_000);
});
