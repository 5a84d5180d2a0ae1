import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerDriver, RunnerHandle } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietHooks, runnerSpec } from '../driver-contract.test-helper.js';
import { sandboxUnavailable } from './availability.test-helper.js';
import { chooseIsolation, startEgressProxy } from './index.js';
import { PROBE_APP, type Shell } from './sandbox-app.test-helper.js';

if (sandboxUnavailable) console.log(`runner egress tests skipped: ${sandboxUnavailable}`);

const MIB = 1024 * 1024;

describe.skipIf(sandboxUnavailable !== null)(
  'runner egress through the proxy (runners.sandbox.egress "proxy")',
  () => {
    let home: string;
    let driver: RunnerDriver;
    let proxy: Awaited<ReturnType<typeof startEgressProxy>>;
    let mirror: Server;
    let mirrorPort: number;
    let handle: RunnerHandle;

    beforeAll(async () => {
      home = mkdtempSync(join(tmpdir(), 'hangar-egress-'));
      mkdirSync(join(home, 'bundle'));
      writeFileSync(join(home, 'bundle', 'probe.js'), PROBE_APP);
      // An operator's model mirror on a private address, allowed by name in the egress allowlist.
      mirror = createServer((_req, res) => res.end('weights'));
      await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.2', resolve));
      mirrorPort = (mirror.address() as { port: number }).port;
      proxy = await startEgressProxy({ allowlist: ['127.0.0.2'] });
      const isolation = chooseIsolation({
        isolation: 'sandbox',
        settings: {
          memoryBytes: 256 * MIB,
          pidsMax: 64,
          nofile: 1024,
          tmpBytes: 16 * MIB,
          uidBase: 320_000,
          roPaths: [],
          egress: 'none',
          egressAllowlist: [],
        },
        stateDir: join(home, 'sandbox'),
        searchPath: process.env['PATH'] ?? '',
        egressPort: proxy.port,
      });
      if (isolation.mode !== 'sandbox') throw new Error('expected the sandbox');
      driver = isolation.driver;
      handle = await driver.start(
        runnerSpec({
          runnerId: 'egress-1',
          owner: 'acme',
          app: 'probe',
          dir: join(home, 'bundle'),
          dataDir: join(home, 'data', 'acme'),
          command: ['node', 'probe.js'],
        }),
        quietHooks(),
      );
      for (let i = 0; i < 200; i++) {
        if (
          await fetch(`${handle.url}/health`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 25));
      }
    });

    afterAll(async () => {
      await handle?.stop(1000);
      await proxy?.close();
      mirror?.close();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    /** From inside the runner: GET `url` through $HTTP_PROXY, or straight when `direct`. */
    async function get(url: string, direct = false): Promise<string> {
      const target = new URL(url);
      const options = direct
        ? `{host:'${target.hostname}',port:${target.port},path:'/'}`
        : `{host:'127.0.0.1',port:+new URL(process.env.HTTP_PROXY).port,path:'${url}'}`;
      const script =
        `require('http').get(${options},r=>{let b='';r.on('data',d=>b+=d);` +
        `r.on('end',()=>console.log(r.statusCode+' '+b.trim()))}).on('error',e=>console.log('ERR '+e.code))`;
      const res = await fetch(`${handle.url}/sh`, { method: 'POST', body: `node -e "${script}"` });
      return ((await res.json()) as Shell).stdout.trim();
    }

    it('reaches what the operator allows through the proxy, and nothing directly', async () => {
      expect(await get(`http://127.0.0.2:${mirrorPort}/model.bin`)).toBe('200 weights');
      expect(await get(`http://127.0.0.2:${mirrorPort}/`, true)).toMatch(/^ERR /);
    });

    it('refuses loopback, private and metadata addresses through the proxy', async () => {
      const refused = [
        `http://127.0.0.1:${proxy.port}/`,
        'http://10.0.0.1/',
        'http://169.254.169.254/latest/meta-data/',
      ];
      for (const url of refused) expect(await get(url), url).toMatch(/^403 egress to .* is not allowed/);
    });
  },
);
