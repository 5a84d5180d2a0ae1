import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenerIsFamilyOf, listenInodesIn } from './port-owner.js';
import { freePort, signalGroup } from './process-driver.js';
import { manifest, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const onLinux = existsSync('/proc/net/tcp');

/** A detached `sh` whose child node process listens on `port` (so the listener is a grandchild). */
function shellListener(port: number): ChildProcess {
  const js = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => console.log('up'))`;
  const child = spawn('sh', ['-c', `"${process.execPath}" -e "${js}"; true`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  cleanups.push(() => signalGroup(child.pid!, 'SIGKILL'));
  return child;
}

function listen(port: number, handler: (url: string) => void): Promise<Server> {
  const server = createServer((req, res) => {
    handler(req.url ?? '');
    res.end('ok');
  });
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('who listens on a runner port', () => {
  it('reads listening sockets for 127.0.0.1 from a /proc/net/tcp table', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1',
      '   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1',
      '   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 333 1',
      '   3: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1',
      '   4: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1',
    ].join('\n');
    // 8080 listening on 127.0.0.1 and 0.0.0.0; not the established socket, 127.0.0.2 or port 8081.
    expect(listenInodesIn(table, 8080)).toEqual(['111', '222']);
    expect(listenInodesIn(table, 8081)).toEqual(['555']);
    expect(listenInodesIn(table, 9)).toEqual([]);
  });

  it.skipIf(!onLinux)('tells the runner’s own listener (a grandchild) from another process’s', async () => {
    const port = await freePort();
    expect(await listenerIsFamilyOf(process.pid, port)).toBe(false);
    const runner = shellListener(port);
    await new Promise((r) => runner.stdout!.once('data', r));
    expect(await listenerIsFamilyOf(runner.pid!, port)).toBe(true);
    // Another process group does not hold it; the runner does not hold the test process's listener.
    const bystander = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    cleanups.push(() => signalGroup(bystander.pid!, 'SIGKILL'));
    expect(await listenerIsFamilyOf(bystander.pid!, port)).toBe(false);
    const other = await freePort();
    await listen(other, () => {});
    expect(await listenerIsFamilyOf(runner.pid!, other)).toBe(false);
    expect(await listenerIsFamilyOf(process.pid, other)).toBe(true);
  });

  it('never hands out a port it handed out lately, even when the system offers it again', async () => {
    // The system offers port 1 twice, then 2 (ports no real runner gets).
    const offers = [1, 1, 2];
    const ask = async () => offers.shift()!;
    expect([await freePort(ask), await freePort(ask)]).toEqual([1, 2]);
    expect(offers).toEqual([]);
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
  });

  it.skipIf(!onLinux)(
    'a runner whose port another process answers never becomes ready, and no request reaches that process',
    async () => {
      const h = testBed(cleanups);
      // The app names its port and never listens; the test's own server squats on that port.
      writeFileSync(
        join(h.dir, 'squat.mjs'),
        "import { writeFileSync } from 'node:fs';\n" +
          "writeFileSync(process.env.DATA_DIR + '/port', process.env.PORT);\n" +
          'setInterval(() => {}, 1000);\n',
      );
      const m = manifest({
        name: 'squatted',
        command: [process.execPath, 'squat.mjs'],
        startup_timeout: 1.5,
        min_concurrency: 1,
      });
      const { app, rev } = revision(h.dir, m);
      await h.sup.deploy(app, rev);
      const portFile = join(h.dataRoot, 'alice', 'port');
      const port = Number(await until(() => existsSync(portFile) && readFileSync(portFile, 'utf8')));
      const seen: string[] = [];
      await listen(port, (url) => seen.push(url));
      const events = () => h.stores.snapshot().events.map((e) => e.category);
      await until(() => events().includes('runner_startup_failure'), 10_000);
      // The squatter answered health probes, yet the runner was never started nor sent work.
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((u) => u === '/health')).toBe(true);
      expect(events()).not.toContain('runner_started');
      const failure = h.stores.snapshot().events.find((e) => e.category === 'runner_startup_failure');
      expect(String(failure?.payload.reason)).toContain('startup_timeout');
    },
  );
});
