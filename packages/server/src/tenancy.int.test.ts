import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { expectedGatewayError as fal, gatewayError } from './gateway/gateway-errors.test-helper.js';
import { type RunningServer, startServer } from './main.js';
import { openOperator } from './operator.js';

describe('single-tenant mode (runners.isolation "none")', () => {
  let home: string;
  let server: RunningServer;
  let ownerKey: string;
  let otherKey: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'hangar-single-'));
    writeFileSync(join(home, 'hangar.config.json'), JSON.stringify({ runners: { isolation: 'none' } }));
    // A key of a second owner made before the server starts (the operator's CLI writes the database).
    otherKey = await openOperator(home, async (op) => (await op.createKey('intruder', 'ADMIN')).key);
    const env = { HANGAR_LOG_LEVEL: 'silent', HANGAR_HOME: home, HANGAR_OWNER: 'solo' };
    server = await startServer(loadConfig({ port: '0', home }, env, home), { demo: true });
    ownerKey = readFileSync(join(home, 'admin.key'), 'utf8').trim();
  });

  afterAll(async () => {
    await server?.shutdown();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const get = (path: string, key: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Key ${key}` } });

  it('serves its one owner', async () => {
    const res = await fetch(`${server.url}/run/solo/echo`, {
      method: 'POST',
      headers: { authorization: `Key ${ownerKey}`, 'content-type': 'application/json' },
      body: '{"hi":1}',
    });
    expect(res.status).toBe(200);
    expect((await get('/v1/serverless/apps', ownerKey)).status).toBe(200);
  });

  it("refuses any other owner's key with 403 OWNER_SINGLE_TENANT, on the API and the gateway", async () => {
    const api = await get('/v1/serverless/apps', otherKey);
    expect(api.status).toBe(403);
    const body = (await api.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'authorization_error', code: 'OWNER_SINGLE_TENANT' });
    // The gateway answers the same refusal in fal's gateway shape.
    const run = await fetch(`${server.url}/run/solo/echo`, {
      method: 'POST',
      headers: { authorization: `Key ${otherKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await gatewayError(run)).toEqual(fal(403, 'authorization_error', 'OWNER_SINGLE_TENANT'));
  });
});
