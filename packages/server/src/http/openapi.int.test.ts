import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { falServerlessOperations } from '../conformance/fal-document.test-helper.js';
import { falDocumentMissing } from '../conformance/fal-openapi.test-helper.js';
import { type RunningServer, startServer } from '../main.js';
import { OPENAPI_PATH } from './openapi.js';

// Our own OpenAPI document, generated from the route schemas of a real server.

interface Doc {
  openapi: string;
  info: { title: string };
  servers: { url: string }[];
  components: { securitySchemes: Record<string, { type: string; in: string; name: string }> };
  paths: Record<string, Record<string, { operationId?: string; security?: Record<string, string[]>[] }>>;
}

let home: string;
let server: RunningServer;
let doc: Doc;
let contentType: string | null;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'hangar-openapi-'));
  server = await startServer(loadConfig({ port: '0', home }, { HANGAR_LOG_LEVEL: 'warn' }, home));
  const res = await fetch(`${server.url}${OPENAPI_PATH}`);
  expect(res.status).toBe(200);
  contentType = res.headers.get('content-type');
  doc = (await res.json()) as Doc;
});
afterAll(async () => {
  await server?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

function operationsById(): Map<string, { method: string; path: string; security?: unknown }> {
  const byId = new Map<string, { method: string; path: string; security?: unknown }>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (op.operationId)
        byId.set(op.operationId, { method: method.toUpperCase(), path, security: op.security });
    }
  }
  return byId;
}

describe('GET /v1/openapi.json', () => {
  it('is served without a key as JSON', () => {
    expect(contentType).toMatch(/^application\/json/);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const { info: _info, ...broken } = doc;
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('names the API and declares fal’s two key schemes', () => {
    expect(doc.info.title).toBe('Hangar Platform API');
    expect(doc.servers).toEqual([{ url: '/v1' }]);
    for (const scheme of ['apiKey', 'adminApiKey']) {
      expect(doc.components.securitySchemes[scheme]).toMatchObject({
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
      });
    }
  });

  it.skipIf(falDocumentMissing !== null)(
    "has every fal /serverless operationId, at fal's method, path and security",
    () => {
      const ours = operationsById();
      const missing: string[] = [];
      for (const op of falServerlessOperations()) {
        const mine = ours.get(op.operationId);
        if (!mine) {
          missing.push(op.operationId);
          continue;
        }
        expect({ id: op.operationId, method: mine.method, path: mine.path, security: mine.security }).toEqual(
          {
            id: op.operationId,
            method: op.method,
            path: op.path,
            security: op.security,
          },
        );
      }
      expect(missing).toEqual([]);
    },
  );

  it('documents only /v1 routes and never itself', () => {
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/run') || p.startsWith('/queue'))).toEqual([]);
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });
});
