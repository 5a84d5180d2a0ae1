import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerDriver, RunnerHandle } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRunnerDriver, quietHooks, runnerSpec } from '../driver-contract.test-helper.js';
import { sandboxUnavailable } from './availability.test-helper.js';
import { chooseIsolation } from './index.js';
import { PROBE_APP, type Shell } from './sandbox-app.test-helper.js';

if (sandboxUnavailable) console.log(`runner sandbox tests skipped: ${sandboxUnavailable}`);

const contractHome = mkdtempSync(join(tmpdir(), 'hangar-sandbox-contract-'));
describeRunnerDriver(
  'sandbox',
  () => {
    const isolation = chooseIsolation({
      isolation: 'sandbox',
      settings: {
        memoryBytes: 256 * 1024 * 1024,
        pidsMax: 64,
        nofile: 1024,
        tmpBytes: 16 * 1024 * 1024,
        uidBase: 330_000,
        roPaths: [],
        egress: 'none',
        egressAllowlist: [],
      },
      stateDir: join(contractHome, 'sandbox'),
      searchPath: process.env['PATH'] ?? '',
    });
    return isolation.driver;
  },
  sandboxUnavailable,
);
afterAll(() => rmSync(contractHome, { recursive: true, force: true }));

const MIB = 1024 * 1024;

/** Host processes (threads' leaders) whose real uid is `uid`. */
function processesOf(uid: number): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) n++;
    } catch {
      // gone
    }
  }
  return n;
}

describe.skipIf(sandboxUnavailable !== null)('runner sandbox', () => {
  let home: string;
  let driver: RunnerDriver;
  let appDir: string;
  let dataRoot: string;
  let hostService: Server;
  let hostPort: number;
  const runners: RunnerHandle[] = [];
  const lines: string[] = [];

  async function start(owner: string, env: Record<string, string> = {}): Promise<RunnerHandle> {
    // Right after a fork bomb is killed the kernel can refuse a new namespace's loopback setup for a
    // moment; the supervisor restarts such a runner with backoff, and so does this helper.
    for (let attempt = 1; ; attempt++) {
      let exited = false;
      const handle = await driver.start(
        runnerSpec({
          runnerId: `r-${owner}-${runners.length}`,
          owner,
          app: 'probe',
          dir: appDir,
          dataDir: join(dataRoot, owner),
          command: ['node', 'probe.js'],
          env,
        }),
        quietHooks({
          onLine: (_s, line) => lines.push(line),
          onExit() {
            exited = true;
          },
        }),
      );
      runners.push(handle);
      for (let i = 0; i < 200 && !exited; i++) {
        const up = await fetch(`${handle.url}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) return handle;
        await new Promise((r) => setTimeout(r, 25));
      }
      if (!exited || attempt === 3) throw new Error(`runner did not come up: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }

  async function sh(handle: RunnerHandle, command: string): Promise<Shell> {
    const res = await fetch(`${handle.url}/sh`, { method: 'POST', body: command });
    return (await res.json()) as Shell;
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'hangar-sandbox-'));
    appDir = join(home, 'bundle');
    dataRoot = join(home, 'data');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'probe.js'), PROBE_APP);
    writeFileSync(join(home, 'admin.key'), 'secret-admin-key', { mode: 0o600 });
    mkdirSync(join(dataRoot, 'rival'), { recursive: true });
    writeFileSync(join(dataRoot, 'rival', 'weights.bin'), 'rival-only');
    const isolation = chooseIsolation({
      isolation: 'sandbox',
      settings: {
        memoryBytes: 128 * MIB,
        pidsMax: 64,
        nofile: 1024,
        tmpBytes: 16 * MIB,
        uidBase: 300_000,
        roPaths: [],
        egress: 'none',
        egressAllowlist: [],
      },
      stateDir: join(home, 'sandbox'),
      searchPath: process.env['PATH'] ?? '',
    });
    if (isolation.mode !== 'sandbox') throw new Error('expected the sandbox');
    driver = isolation.driver;
    process.env['HANGAR_SANDBOX_TEST_SECRET'] = 'must-not-leak';
    hostService = createServer((socket) => socket.end('host service\n'));
    await new Promise<void>((resolve) => hostService.listen(0, '127.0.0.1', resolve));
    hostPort = (hostService.address() as { port: number }).port;
  });

  afterAll(async () => {
    delete process.env['HANGAR_SANDBOX_TEST_SECRET'];
    await Promise.all(runners.map((r) => r.stop(1000)));
    hostService?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('runs the app as its owner own unprivileged uid, without capabilities, with no_new_privs', async () => {
    const acme = await start('acme');
    const rival = await start('rival');
    const a = await sh(acme, 'id -u; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs)" /proc/self/status');
    const r = await sh(rival, 'id -u');
    const uid = Number(a.stdout.split('\n')[0]);
    expect(uid).toBeGreaterThanOrEqual(300_000);
    expect(Number(r.stdout.trim())).not.toBe(uid);
    expect(a.stdout).toMatch(/CapEff:\s+0+\n/);
    expect(a.stdout).toMatch(/CapPrm:\s+0+\n/);
    expect(a.stdout).toMatch(/CapBnd:\s+0+\n/);
    expect(a.stdout).toMatch(/NoNewPrivs:\s+1/);
    // The owner's data directory on the host belongs to that uid, and only to it.
    const info = statSync(join(dataRoot, 'acme'));
    expect(info.uid).toBe(uid);
    expect(info.mode & 0o777).toBe(0o700);
  });

  it('shows only the code (read-only), the owner data (read-write), a private /tmp and system files', async () => {
    const acme = await start('acme');
    const out = await sh(
      acme,
      [
        'ls /',
        'echo "cwd=$(pwd) data=$DATA_DIR home=$HOME"',
        'echo hi > /data/out.txt && echo data-write-ok',
        'echo x > /app/x 2>/dev/null || echo app-read-only',
        'echo x > /usr/x 2>/dev/null || echo usr-read-only',
        'echo t > /tmp/t && echo tmp-ok',
        `ls ${home} 2>&1 | head -1`,
        'ls /data',
        'cat /etc/shadow 2>&1 | head -1',
        'ls /root 2>&1 | head -1',
      ].join('; '),
    );
    expect(out.stdout.split('\n').slice(0, 12).sort()).toEqual(
      expect.arrayContaining(['app', 'data', 'dev', 'etc', 'proc', 'tmp', 'usr']),
    );
    expect(out.stdout).not.toMatch(/^(root|home|var|srv|opt|work|mnt)$/m);
    expect(out.stdout).toContain('cwd=/app data=/data home=/tmp');
    expect(out.stdout).toContain('data-write-ok');
    expect(out.stdout).toContain('app-read-only');
    expect(out.stdout).toContain('usr-read-only');
    expect(out.stdout).toContain('tmp-ok');
    expect(out.stdout).toMatch(/No such file or directory/);
    expect(out.stdout).not.toContain('weights.bin');
    expect(out.stdout).not.toContain('admin.key');
    expect(readFileSync(join(dataRoot, 'acme', 'out.txt'), 'utf8')).toBe('hi\n');
  });

  it('gives the app only its own variables and processes, never the server', async () => {
    const acme = await start('acme', { MODEL: 'tiny' });
    const out = await sh(
      acme,
      'env; echo ---; ls /proc | grep -E "^[0-9]+$" | wc -l; cat /proc/1/cmdline | tr "\\0" " "',
    );
    expect(out.stdout).toContain('MODEL=tiny');
    expect(out.stdout).not.toContain('HANGAR_SANDBOX_TEST_SECRET');
    expect(out.stdout).not.toContain('must-not-leak');
    // pid 1 is the sandbox's own init; the app, its shell and ls are the only other processes.
    const count = Number(out.stdout.split('---\n')[1]?.split('\n')[0]);
    expect(count).toBeLessThan(8);
    expect(out.stdout).toContain('bwrap');
    const serverEnviron = await sh(acme, `cat /proc/${process.pid}/environ 2>&1 | head -c 200`);
    expect(serverEnviron.stdout).not.toContain('must-not-leak');
  });

  it('cannot open a connection to the host loopback, private addresses or the internet', async () => {
    const acme = await start('acme');
    const script = (host: string, port: number) =>
      `node -e "const s=require('net').connect(${port},'${host}');s.setTimeout(2000);` +
      `s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});` +
      `s.on('error',e=>{console.log('ERR '+e.code);process.exit(0)});s.on('timeout',()=>{console.log('TIMEOUT');process.exit(0)})"`;
    for (const [host, port] of [
      ['127.0.0.1', hostPort],
      ['10.0.0.1', 80],
      ['169.254.169.254', 80],
      ['1.1.1.1', 443],
    ] as const) {
      const out = await sh(acme, script(host, port));
      expect(out.stdout, `${host}:${port}`).not.toContain('CONNECTED');
    }
    const gateway = await fetch(`${acme.url}/health`);
    expect(gateway.ok).toBe(true);
  });

  it('bounds a fork bomb and a memory bomb to their runner, while another owner keeps working', async () => {
    const bomber = await start('bomber');
    const bystander = await start('bystander');
    const uid = Number((await sh(bomber, 'id -u')).stdout.trim());
    // A fork bomb whose processes stay (each forks two more, then sleeps), in the background so the shell
    // answers. (The classic `f | f &` dies out between samples once forks fail at the cap.)
    await sh(bomber, '(f(){ f & f & sleep 60; }; f) >/dev/null 2>&1 & echo started');
    // Sample until the bomb has clearly forked (a loaded machine can take seconds to get there), and
    // at least a second in all, so a breach of the cap would be seen.
    let peak = 0;
    for (let i = 0; i < 300 && (i < 20 || peak <= 10); i++) {
      peak = Math.max(peak, processesOf(uid));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(peak).toBeGreaterThan(10);
    expect(peak).toBeLessThanOrEqual(64);
    expect((await sh(bystander, 'echo alive')).stdout).toBe('alive\n');
    await bomber.stop(1000);
    for (let i = 0; i < 100 && processesOf(uid) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(processesOf(uid)).toBe(0);

    const hog = await start('hog');
    const memory = await sh(hog, `node -e "const a=[];for(;;)a.push(Buffer.alloc(${MIB},1))"`);
    // The kernel kills the hog (the shell running it reports 128 + SIGKILL).
    expect(memory.signal === 'SIGKILL' || memory.code === 137).toBe(true);
    expect((await sh(hog, 'echo still-serving')).stdout).toBe('still-serving\n');
    expect((await sh(bystander, 'echo alive')).stdout).toBe('alive\n');
  }, 60_000);

  it('stop() delivers SIGTERM to the app and the sandbox ends with it', async () => {
    const acme = await start('acme');
    const url = acme.url;
    const acmeRunDir = join(home, 'sandbox', 'run', `r-acme-${runners.length - 1}.`);
    await acme.stop(5000);
    const reachable = await fetch(`${url}/health`).then(
      () => true,
      () => false,
    );
    expect(reachable).toBe(false);
    // Nothing of the runner is left behind on the host: not its port forwarder either.
    const leftovers = () =>
      readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(acmeRunDir);
          } catch {
            return false;
          }
        });
    for (let i = 0; i < 50 && leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(leftovers()).toEqual([]);
  });
});
