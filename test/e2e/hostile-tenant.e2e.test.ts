import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHangarClient } from '@hangar/client';
import { uploadBundleFile } from '@hangar/client/node';
import { packBundle } from '@hangar/core/bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../packages/server/src/config.js';
import { type RunningServer, startServer } from '../../packages/server/src/main.js';
import { openOperator } from '../../packages/server/src/operator.js';
import { sandboxUnavailable } from '../../packages/server/src/runners/sandbox/availability.test-helper.js';

if (sandboxUnavailable) console.log(`hostile-tenant tests skipped: ${sandboxUnavailable}`);

/**
 * A tenant's app that runs whatever its caller asks inside its runner: the worst an owner can deploy.
 * `POST /run/rival/snoop {"cmd": "..."}` answers the command's exit code and output.
 */
const SNOOP_APP = `
const http = require('node:http');
const { execFile } = require('node:child_process');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/health') return res.end('ok');
    const { cmd } = JSON.parse(body || '{}');
    execFile('/bin/sh', ['-c', cmd], { timeout: 20000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code: err ? (err.code ?? 1) : 0, signal: err?.signal ?? null, stdout, stderr }));
    });
  });
}).listen(+process.env.PORT, '127.0.0.1');
`;

interface Shell {
  code: number | string;
  signal: string | null;
  stdout: string;
  stderr: string;
}

describe.skipIf(sandboxUnavailable !== null)('a hostile tenant', () => {
  let home: string;
  let server: RunningServer;
  let acmeKey: string;
  let rivalKey: string;
  let loopbackService: Server;
  let loopbackPort: number;
  const SERVER_SECRET = 'server-env-secret-7f3a';
  const ACME_SECRET = 'acme-data-secret-91c2';
  /** acme's calls made while rival attacks: every one must succeed. */
  const acmeResults: number[] = [];
  let acmeLoop: Promise<void> | null = null;
  let attacking = true;

  const post = (path: string, key: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  async function snoop(cmd: string): Promise<Shell> {
    const res = await post('/run/rival/snoop', rivalKey, { cmd });
    expect(res.status).toBe(200);
    return (await res.json()) as Shell;
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'hangar-hostile-'));
    writeFileSync(
      join(home, 'hangar.config.json'),
      JSON.stringify({
        runners: {
          isolation: 'sandbox',
          sandbox: { memory_mb: 256, pids_max: 96, tmp_mb: 32 },
        },
      }),
    );
    process.env['HANGAR_HOSTILE_TEST_SECRET'] = SERVER_SECRET;
    const env = {
      HANGAR_LOG_LEVEL: 'warn',
      HANGAR_HOME: home,
      HANGAR_OWNER: 'acme',
      PATH: process.env['PATH'],
    };
    server = await startServer(loadConfig({ port: '0', home }, env, home), { demo: true });
    acmeKey = readFileSync(join(home, 'admin.key'), 'utf8').trim();
    rivalKey = await openOperator(home, async (op) => (await op.createKey('rival', 'ADMIN', 'rival')).key);
    mkdirSync(join(home, 'data', 'acme'), { recursive: true });
    writeFileSync(join(home, 'data', 'acme', 'secret.txt'), ACME_SECRET);

    // rival deploys its snooping app the only way a tenant can: by uploading a bundle.
    const src = join(home, 'snoop-src');
    mkdirSync(src);
    writeFileSync(join(src, 'server.js'), SNOOP_APP);
    writeFileSync(
      join(src, 'hangar.json'),
      JSON.stringify({
        name: 'snoop',
        command: ['node', 'server.js'],
        machine_type: 'CPU',
        min_concurrency: 1,
      }),
    );
    const rival = createHangarClient({ url: server.url, key: rivalKey });
    const packed = await packBundle(src);
    const info = await uploadBundleFile(rival, packed.file);
    await packed.remove();
    await rival.apps.deploy({ bundle: info.bundle });

    loopbackService = createServer((socket) => socket.end('private service\n'));
    await new Promise<void>((resolve) => loopbackService.listen(0, '127.0.0.1', resolve));
    loopbackPort = (loopbackService.address() as { port: number }).port;

    // acme keeps calling its own app for the whole attack.
    acmeLoop = (async () => {
      while (attacking) {
        const res = await post('/run/acme/echo', acmeKey, { hello: 'acme' }).catch(() => null);
        acmeResults.push(res?.status ?? 0);
        await res?.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }, 120_000);

  afterAll(async () => {
    attacking = false;
    await acmeLoop;
    delete process.env['HANGAR_HOSTILE_TEST_SECRET'];
    await server?.shutdown();
    loopbackService?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('cannot deploy a server path: "/" or another owner\'s directory', async () => {
    for (const path of ['/', join(home, 'data', 'acme'), home]) {
      const res = await post('/v1/serverless/apps', rivalKey, {
        path,
        name: 'steal',
        command: ['cat', 'secret.txt'],
        machine_type: 'CPU',
      });
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(JSON.parse(text).error.code).toBe('DEPLOY_PATH_UNSUPPORTED');
      expect(text).not.toContain(home);
    }
  });

  it("cannot read HANGAR_HOME, the admin key or acme's data from inside its runner", async () => {
    const out = await snoop(
      [
        `ls ${home} 2>&1`,
        `cat ${join(home, 'admin.key')} 2>&1`,
        `cat ${join(home, 'data', 'acme', 'secret.txt')} 2>&1`,
        'ls /data 2>&1',
        'cat /data/../acme/secret.txt 2>&1',
        'echo "found:$(grep -rls acme-data-secret /data /app /tmp /etc /usr/local 2>/dev/null | head -1)"',
        'echo "files:$(find / -xdev \\( -name admin.key -o -name hangar.db \\) 2>/dev/null | head -1)"',
      ].join('; '),
    );
    const adminSecret = acmeKey.split(':')[1] ?? acmeKey;
    expect(out.stdout).toMatch(/No such file or directory/);
    expect(out.stdout).not.toContain(ACME_SECRET);
    expect(out.stdout).not.toContain(adminSecret);
    expect(out.stdout).toContain('found:\n');
    expect(out.stdout).toContain('files:\n');
  });

  it("cannot read the server's environment or see its processes", async () => {
    const out = await snoop(
      [
        `cat /proc/${process.pid}/environ 2>&1 | tr '\\0' '\\n' | head -50`,
        'cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"',
        'env',
        'ls /proc | grep -cE "^[0-9]+$"',
        'kill -9 -1 2>&1; echo killed-what-it-could',
      ].join('; '),
    ).catch((err: Error) => ({ code: 'killed', signal: null, stdout: String(err), stderr: '' }));
    expect(out.stdout).not.toContain(SERVER_SECRET);
    expect(out.stdout).not.toContain('HANGAR_HOME');
    expect(out.stdout).not.toContain('HANGAR_HOSTILE_TEST_SECRET');
    // `kill -9 -1` can only reach the runner's own processes: the server is still here.
    const health = await post('/run/acme/echo', acmeKey, { after: 'kill' });
    expect(health.status).toBe(200);
  });

  it("cannot connect to the server's port or another loopback service", async () => {
    const serverPort = Number(new URL(server.url).port);
    const tryConnect = (host: string, port: number) =>
      `node -e "const s=require('net').connect(${port},'${host}');s.setTimeout(2000);` +
      `s.on('connect',()=>{console.log('CONNECTED ${host}:${port}');process.exit(0)});` +
      `s.on('error',e=>{console.log('refused '+e.code);process.exit(0)});` +
      `s.on('timeout',()=>{console.log('timeout');process.exit(0)})"`;
    const out = await snoop(
      [
        tryConnect('127.0.0.1', serverPort),
        tryConnect('127.0.0.1', loopbackPort),
        tryConnect('169.254.169.254', 80),
        tryConnect('10.0.0.1', 5432),
      ].join('; '),
    );
    expect(out.stdout).not.toContain('CONNECTED');
    expect(out.stdout.trim().split('\n')).toHaveLength(4);
  });

  it('a fork bomb and a memory bomb stay inside its runner', async () => {
    // Bounded by the runner's pids cap: the shell answers once forks start failing.
    const fork = await snoop('(f(){ f | f & }; f) >/dev/null 2>&1 & sleep 2; echo done');
    expect(fork.stdout).toContain('done');
    const memory = await snoop(`node -e "const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))"`).catch(() => null);
    // The hog is killed by the kernel (or takes its runner with it); either way it ends.
    if (memory) expect(memory.signal === 'SIGKILL' || memory.code === 137 || memory.code !== 0).toBe(true);
  });

  it('the server stayed up and every one of acme’s requests succeeded throughout', async () => {
    const res = await post('/run/acme/echo', acmeKey, { final: true });
    expect(res.status).toBe(200);
    expect(acmeResults.length).toBeGreaterThan(10);
    expect(acmeResults.filter((s) => s !== 200)).toEqual([]);
  });
});
