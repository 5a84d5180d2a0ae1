import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFalClient } from '@fal-ai/client';
import { createHangarClient } from '@hangar/client';
import { uploadBundleFile } from '@hangar/client/node';
import { packBundle } from '@hangar/core/bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../packages/server/src/config.js';
import { type RunningServer, startServer } from '../../packages/server/src/main.js';
import {
  multiTenantIsolation,
  sandboxUnavailable,
} from '../../packages/server/src/runners/sandbox/availability.test-helper.js';

const sandboxed = sandboxUnavailable === null;
if (!sandboxed) console.log(`blob inputs run with trusted runners: ${sandboxUnavailable}`);

/**
 * An app that reads the file behind its `image` input the way the runner contract says: the part of the
 * `file_url` after `/files/`, fetched from `$HANGAR_FILES_URL`. `/probe` tries other doors.
 */
const DIGEST_APP = `
const http = require('node:http');
const net = require('node:net');
const crypto = require('node:crypto');
const local = (url) => process.env.HANGAR_FILES_URL + url.slice(url.indexOf('/files/') + 7);
const tryConnect = (port) => new Promise((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve('connected'); });
  s.on('error', (e) => resolve(e.code));
  s.setTimeout(3000, () => { s.destroy(); resolve('timeout'); });
});
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', async () => {
    if (req.url === '/health') return res.end('ok');
    const input = JSON.parse(body || '{}');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/probe') {
      const other = await fetch(new URL('/v1/serverless/apps', process.env.HANGAR_FILES_URL)).then((r) => r.status);
      return res.end(JSON.stringify({ server: await tryConnect(input.port), other }));
    }
    const got = await fetch(local(input.image));
    const bytes = Buffer.from(await got.arrayBuffer());
    res.end(JSON.stringify({
      url: input.image,
      status: got.status,
      type: got.headers.get('content-type'),
      bytes: bytes.length,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    }));
  });
}).listen(+process.env.PORT, '127.0.0.1');
`;

interface Digest {
  url: string;
  status: number;
  type: string;
  bytes: number;
  sha256: string;
}

let home: string;
let server: RunningServer;
let key: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'hangar-blobs-'));
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({ runners: { isolation: multiTenantIsolation, sandbox: { memory_mb: 256, tmp_mb: 16 } } }),
  );
  const env = {
    HANGAR_LOG_LEVEL: 'warn',
    HANGAR_HOME: home,
    HANGAR_OWNER: 'acme',
    PATH: process.env['PATH'],
  };
  server = await startServer(loadConfig({ port: '0', home }, env, home));
  key = readFileSync(join(home, 'admin.key'), 'utf8').trim();
  const src = join(home, 'digest-src');
  mkdirSync(src);
  writeFileSync(join(src, 'server.js'), DIGEST_APP);
  writeFileSync(
    join(src, 'hangar.json'),
    JSON.stringify({
      name: 'digest',
      command: ['node', 'server.js'],
      machine_type: 'CPU',
      min_concurrency: 1,
      routes: ['/', '/probe'],
    }),
  );
  const hangar = createHangarClient({ url: server.url, key });
  const packed = await packBundle(src);
  const info = await uploadBundleFile(hangar, packed.file);
  await packed.remove();
  await hangar.apps.deploy({ bundle: info.bundle });
}, 120_000);

afterAll(async () => {
  await server?.shutdown();
  if (home) rmSync(home, { recursive: true, force: true });
});

type Client = ReturnType<typeof createFalClient>;
const clients: [string, () => Client][] = [
  [
    'requestMiddleware rewrite',
    () =>
      createFalClient({
        credentials: key,
        requestMiddleware: async (req) => ({
          ...req,
          url: req.url
            .replace(/^https:\/\/queue\.fal\.run\//, `${server.url}/queue/`)
            .replace(/^https:\/\/fal\.run\//, `${server.url}/run/`)
            .replace(/^https:\/\/rest\.fal\.ai\//, `${server.url}/`),
        }),
      }),
  ],
  [
    'proxyUrl',
    () => createFalClient({ credentials: key, proxyUrl: { url: `${server.url}/fal/proxy`, when: 'always' } }),
  ],
];

describe.each(clients)(
  `Blob inputs (${sandboxed ? 'sandboxed' : 'trusted'} runner) via %s`,
  (_name, make) => {
    const bytes = randomBytes(300_000);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const check = (data: Digest) => {
      expect(data).toMatchObject({ status: 200, type: 'image/png', bytes: bytes.length, sha256 });
      expect(data.url).toMatch(new RegExp(`^${server.url}/files/[\\w-]{32}/`));
    };

    it('subscribe uploads the Blob, the app receives its file_url and reads the bytes', async () => {
      const client = make();
      const result = await client.subscribe('acme/digest', {
        input: { image: new Blob([bytes], { type: 'image/png' }) },
        pollInterval: 100,
      });
      check(result.data as Digest);

      // The recorded request keeps the URL, not the bytes.
      const hangar = `${server.url}/v1/serverless/requests/by-endpoint?endpoint_id=acme/digest&request_id=${result.requestId}&expand=payloads`;
      await expect
        .poll(async () => {
          const res = await fetch(hangar, { headers: { authorization: `Key ${key}` } });
          const page = (await res.json()) as { items: { json_input?: { image?: unknown } }[] };
          return page.items[0]?.json_input?.image;
        })
        .toBe((result.data as Digest).url);
    });

    it('run and queue.submit upload File inputs the same way', async () => {
      const client = make();
      const file = new File([bytes], 'photo.png', { type: 'image/png' });
      const run = await client.run('acme/digest', { input: { image: file } });
      check(run.data as Digest);
      expect((run.data as Digest).url.endsWith('/photo.png')).toBe(true);
      const sub = await client.queue.submit('acme/digest', { input: { image: file } });
      await expect
        .poll(async () => (await client.queue.status('acme/digest', { requestId: sub.request_id })).status, {
          timeout: 20_000,
        })
        .toBe('COMPLETED');
      check((await client.queue.result('acme/digest', { requestId: sub.request_id })).data as Digest);
    });
  },
);

describe.skipIf(!sandboxed)('the file host inside the sandbox', () => {
  it("opens no other door: Hangar's own port stays unreachable, the file host serves only files", async () => {
    const res = await fetch(`${server.url}/run/acme/digest/probe`, {
      method: 'POST',
      headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ port: Number(new URL(server.url).port) }),
    });
    const probe = (await res.json()) as { server: string; other: number };
    expect(probe.server).not.toBe('connected');
    expect(probe.other).toBe(404);
  });
});
