import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
let key: string;
let env: NodeJS.ProcessEnv;

/** Each test spawns several processes; a loaded CI machine needs more than the default timeout. */
const SLOW = 180_000;

const hangar = (args: string[]) => runCli(args, env);

/** A copy of the echo example named `name`, with ignore files and a nested folder. */
function appDir(name: string): string {
  const path = join(dir.path, name);
  cpSync(join(REPO, 'examples', 'echo-node'), path, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(path, 'hangar.json'), 'utf8'));
  writeFileSync(join(path, 'hangar.json'), JSON.stringify({ ...manifest, name, min_concurrency: 0 }));
  mkdirSync(join(path, '.git'));
  writeFileSync(join(path, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(path, '.gitignore'), 'secret.txt\nbuild/\n');
  writeFileSync(join(path, 'secret.txt'), 'do not ship');
  mkdirSync(join(path, 'build'));
  writeFileSync(join(path, 'build', 'out.js'), '');
  writeFileSync(join(path, '.hangarignore'), '*.log\n!keep.log\n');
  writeFileSync(join(path, 'debug.log'), 'noise');
  writeFileSync(join(path, 'keep.log'), 'kept');
  mkdirSync(join(path, 'lib'));
  writeFileSync(join(path, 'lib', '.gitignore'), 'cache.bin\n');
  writeFileSync(join(path, 'lib', 'cache.bin'), 'x');
  writeFileSync(join(path, 'lib', 'util.js'), '');
  return path;
}

/** Every path in an unpacked bundle tree, folders ending with `/`. */
function treeOf(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true })
    .flatMap((e) => {
      const path = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? [`${path}/`, ...treeOf(root, path)] : [path];
    })
    .sort();
}

async function call(endpoint: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}/run/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hello: 'bundle' }),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  requireBuiltCli();
  dir = tempDir('hangar-deploy-e2e-');
  home = join(dir.path, 'home');
  // A second owner is deployed into below: without a runner sandbox on this machine that takes `trusted`.
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({ runners: { isolation: multiTenantIsolation } }),
  );
  const base = cleanEnv(join(dir.path, 'config'));
  server = await startServe(home, base);
  if (!server.key) throw new Error('serve printed no admin key');
  key = server.key;
  env = { ...base, HANGAR_URL: server.url, HANGAR_KEY: key, HANGAR_HOME: home };
}, SLOW);

afterAll(async () => {
  await server?.stop();
  dir?.remove();
});

describe('hangar deploy', () => {
  it(
    'runs the app from its stored bundle after the source folder is deleted and the server restarts',
    async () => {
      const src = appDir('gone');
      const first = await hangar(['deploy', src, '--message', 'by upload', '--json']);
      expect(first.code, first.stderr).toBe(0);
      const deployed = JSON.parse(first.stdout);
      expect(deployed).toMatchObject({ endpoint_id: `${server.owner}/gone`, status: 'deployed' });
      const hex = String(deployed.bundle).replace(/^sha256:/, '');

      const tree = join(home, 'bundles', 'trees', hex);
      expect(treeOf(tree)).toEqual(
        [
          '.gitignore',
          '.hangarignore',
          'README.md',
          'hangar.json',
          'keep.log',
          'lib/',
          'lib/.gitignore',
          'lib/util.js',
          'server.mjs',
          'server.test.ts',
        ].sort(),
      );

      const again = await hangar(['deploy', src, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).bundle).toBe(deployed.bundle);
      expect(readdirSync(join(home, 'storage', 'objects', 'bundles'))).toEqual([`${hex}.tar.gz`]);

      rmSync(src, { recursive: true, force: true });
      const afterDelete = await call(`${server.owner}/gone`);
      expect(afterDelete.status).toBe(200);
      expect(afterDelete.body).toMatchObject({ echo: { hello: 'bundle' } });

      const port = server.port;
      await server.stop();
      server = await startServe(home, env, port);
      const afterRestart = await call(`${server.owner}/gone`);
      expect(afterRestart.status).toBe(200);
      expect(afterRestart.body).toMatchObject({ echo: { hello: 'bundle' } });
    },
    SLOW,
  );

  it(
    'refuses a symlink that leaves the folder, naming it, and a folder without hangar.json',
    async () => {
      const src = appDir('linky');
      mkdirSync(join(src, 'conf'));
      symlinkSync('/etc/passwd', join(src, 'conf', 'passwd'));
      const out = await hangar(['deploy', src]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain('symlink "conf/passwd" points outside the directory');

      const empty = join(dir.path, 'empty');
      mkdirSync(empty);
      const none = await hangar(['deploy', empty]);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/hangar\.json: not found/);
    },
    SLOW,
  );

  it(
    'deploys into another owner as an operator with --local, through a one-off key it then revokes',
    async () => {
      const src = appDir('ops');
      const out = await hangar(['deploy', src, '--local', '--owner', 'acme', '--json']);
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({ endpoint_id: 'acme/ops', status: 'deployed' });
      const keys = await hangar(['keys', 'list', '--owner', 'acme', '--json']);
      const listed = JSON.parse(keys.stdout) as { name: string; revoked_at: string | null }[];
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ name: 'hangar deploy --local', revoked_at: expect.any(String) });
      expect(existsSync(join(home, 'bundles', 'tmp'))).toBe(true);
      expect(readdirSync(join(home, 'bundles', 'tmp'))).toEqual([]);
    },
    SLOW,
  );
});
