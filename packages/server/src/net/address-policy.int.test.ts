import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { PlatformError } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedFetch } from './address-policy.js';

// The guarded fetch on its own, as a webhook sender would use it: real servers on 127.0.0.1.

let a: Server;
let b: Server;
let aUrl: string;
let bUrl: string;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

beforeAll(async () => {
  b = createServer((req, res) => {
    res.end(JSON.stringify({ method: req.method, authorization: req.headers.authorization ?? null }));
  });
  bUrl = await listen(b);
  a = createServer(async (req, res) => {
    const body = await text(req);
    if (req.url === '/echo') return res.end(JSON.stringify({ method: req.method, body }));
    if (req.url === '/see-other') return res.writeHead(303, { location: '/echo' }).end();
    if (req.url === '/keep') return res.writeHead(307, { location: '/echo' }).end();
    return res.writeHead(302, { location: `${bUrl}/` }).end();
  });
  aUrl = await listen(a);
});
afterAll(async () => {
  await new Promise((r) => a.close(r));
  await new Promise((r) => b.close(r));
});

const fetchLocal = createGuardedFetch({ allowlist: ['127.0.0.1'], timeoutMs: 5_000, maxBytes: 1 << 16 });
const post = { method: 'POST', headers: { authorization: 'Bearer s3cret' }, body: 'payload' };

describe('createGuardedFetch', () => {
  it('sends POST bodies and keeps them across a 307', async () => {
    const res = await fetchLocal(`${aUrl}/keep`, post);
    expect(JSON.parse(await text(res.body))).toEqual({ method: 'POST', body: 'payload' });
  });

  it('turns a 303 into a GET without the body', async () => {
    const res = await fetchLocal(`${aUrl}/see-other`, post);
    expect(JSON.parse(await text(res.body))).toEqual({ method: 'GET', body: '' });
  });

  it('drops credentials when a redirect changes origin', async () => {
    const res = await fetchLocal(`${aUrl}/elsewhere`, { headers: { authorization: 'Bearer s3cret' } });
    expect(JSON.parse(await text(res.body))).toEqual({ method: 'GET', authorization: null });
    const direct = await fetchLocal(`${bUrl}/`, { headers: { authorization: 'Bearer s3cret' } });
    expect(JSON.parse(await text(direct.body))).toMatchObject({ authorization: 'Bearer s3cret' });
  });

  it('refuses the same server without the allowlist', async () => {
    const strict = createGuardedFetch({ timeoutMs: 5_000, maxBytes: 1 << 16 });
    const err = await strict(`${aUrl}/echo`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).code).toBe('NET_ADDRESS_FORBIDDEN');
  });
});
