import { existsSync, readFileSync } from 'node:fs';
import { ANALYTICS_METRICS, DAY_MS, MINUTE_MS } from '@hangar/core';
import * as ajv2020 from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAL_OPENAPI_PATH,
  falDocumentMissing,
  withDocumentedDeviations,
} from '../conformance/fal-openapi.test-helper.js';
import { rebuildRollups } from '../store/sqlite/rollups.js';
import { type Harness, insertMeter, insertRequests, openHarness } from './analytics/harness.test-helper.js';

// Responses of the requests, usage and analytics operations checked against fal's OpenAPI document:
// the status must be listed for the operation, the content type must be the listed one, and the body
// must validate against the listed schema (ajv, JSON Schema 2020-12, with formats).

const DOC_PATH = FAL_OPENAPI_PATH;

type Operation = {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
};
type Validate = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};

function loadDocument(): Record<string, Operation> {
  if (!existsSync(DOC_PATH)) {
    throw new Error(`fal's OpenAPI document is missing at ${DOC_PATH}; set HANGAR_FAL_OPENAPI to its path`);
  }
  const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>;
  };
  const ops: Record<string, Operation> = {};
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) if (op.operationId) ops[op.operationId] = op;
  }
  return ops;
}

const interop = <T>(m: unknown): T => ((m as { default?: unknown }).default ?? m) as T;
const Ajv = interop<new (o: object) => { compile(s: object): Validate }>(interop(ajv2020));
const addFormats = interop<(a: unknown) => void>(interop(ajvFormats));

const NOW = Date.UTC(2025, 2, 12, 12);
let h: Harness;
let ops: Record<string, Operation>;
let ajv: { compile(s: object): Validate };
const validators = new Map<string, Validate>();

function violations(operationId: string, res: LightMyRequestResponse): string[] {
  const op = ops[operationId];
  if (!op) return [`${operationId} is not in the document`];
  const listed = op.responses[String(res.statusCode)];
  if (!listed?.content) return [`status ${res.statusCode} is not listed for ${operationId}`];
  const type = String(res.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  const media = listed.content[type];
  if (!media) return [`content type "${type}" is not listed for ${operationId} ${res.statusCode}`];
  const key = `${operationId} ${res.statusCode}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(withDocumentedDeviations(operationId, media.schema));
    validators.set(key, validate);
  }
  if (validate(JSON.parse(res.body))) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

beforeAll(async () => {
  if (falDocumentMissing) return;
  ops = loadDocument();
  ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  h = await openHarness({ now: NOW, discounts: { alice: 15 } });
  const rows = Array.from({ length: 200 }, (_, i) => {
    const endedAt = NOW - i * 7 * MINUTE_MS;
    return {
      endpoint: i % 3 ? 'alice/img' : 'alice/img/turbo',
      sentAt: endedAt - 900,
      startedAt: endedAt - 800,
      endedAt,
      statusCode: [200, 200, 422, 500][i % 4]!,
      prepareMs: 100 + i,
      durationMs: 800 + i * 3,
      runnerId: '2d1c1b7e-1d2a-4c55-9d6e-0c1f0e3b9a10',
      coldStart: i % 9 === 0,
      coldBootMs: i % 9 === 0 ? 2500 : null,
      errorClass: i % 4 === 3 ? ('runtime' as const) : null,
      billableUnits: i % 2 ? 1.5 : null,
      input: { prompt: `p${i}` },
      output: i % 2 ? { ok: true } : undefined,
    };
  });
  insertRequests(h.db, rows);
  insertRequests(h.db, [{ endpoint: 'alice/img', sentAt: NOW - MINUTE_MS }]);
  rebuildRollups(h.db, NOW - 30 * DAY_MS, NOW);
  insertMeter(
    h.db,
    Array.from({ length: 300 }, (_, i) => ({
      runner: `r${i % 3}`,
      owner: 'alice',
      app: i % 2 ? 'img' : 'txt',
      minute: NOW - DAY_MS + i * 4 * MINUTE_MS,
      seconds: 30 + (i % 30),
      isSurge: i % 5 === 0,
    })),
  );
});
afterAll(async () => {
  await h?.close();
});

const CASES: [string, string, string?][] = [
  ['serverlessListRequestsByEndpoint', '/v1/serverless/requests/by-endpoint?endpoint_id=alice/img'],
  [
    'serverlessListRequestsByEndpoint',
    '/v1/serverless/requests/by-endpoint?endpoint_id=alice/img&expand=payloads,billing&limit=100',
  ],
  [
    'serverlessListRequestsByEndpoint',
    '/v1/serverless/requests/by-endpoint?endpoint_id=alice/img/turbo&sort_by=duration&status=error',
  ],
  ['serverlessListRequestsByEndpoint', '/v1/serverless/requests/by-endpoint?endpoint_id=alice/img&limit=0'],
  ['serverlessListRequestsByEndpoint', '/v1/serverless/requests/by-endpoint?endpoint_id=bob/vid'],
  ['serverlessListRequestsByEndpoint', '/v1/serverless/requests/by-endpoint?endpoint_id=alice/nope'],
  [
    'serverlessListRequestsByEndpoint',
    '/v1/serverless/requests/by-endpoint?endpoint_id=alice/img',
    'Key nobody:secret',
  ],
  ['serverlessGetUsage', '/v1/serverless/usage'],
  [
    'serverlessGetUsage',
    '/v1/serverless/usage?expand=time_series,summary&timeframe=hour&timezone=Asia/Kathmandu',
  ],
  ['serverlessGetUsage', '/v1/serverless/usage?expand=summary&search=im&limit=3'],
  ['serverlessGetUsage', '/v1/serverless/usage?timezone=Not/AZone'],
  ['serverlessGetUsage', '/v1/serverless/usage', 'api'],
  ['serverlessGetAnalytics', '/v1/serverless/analytics?endpoint_id=alice/img'],
  [
    'serverlessGetAnalytics',
    `/v1/serverless/analytics?endpoint_id=alice/img&expand=time_series,summary,${ANALYTICS_METRICS.join(',')}&start=${new Date(NOW - 7 * DAY_MS).toISOString()}`,
  ],
  [
    'serverlessGetAnalytics',
    '/v1/serverless/analytics?endpoint_id=alice/img,alice/txt&expand=summary&expand=p99_duration&timezone=America/New_York&limit=5',
  ],
  ['serverlessGetAnalytics', '/v1/serverless/analytics?endpoint_id=alice/img&expand=summary'],
  ['serverlessGetAnalytics', '/v1/serverless/analytics?endpoint_id=bob/vid'],
  ['serverlessGetAnalytics', '/v1/serverless/analytics?endpoint_id=alice/ghost'],
];

describe.skipIf(falDocumentMissing !== null)("conformance with fal's OpenAPI document", () => {
  it.each(CASES)('%s %s', async (operationId, url, auth) => {
    const key = auth === 'api' ? h.keys.apiA : (auth ?? h.keys.adminA);
    const res = await h.get(url, key);
    expect(res.statusCode).toBeLessThan(500);
    expect(violations(operationId, res), res.body.slice(0, 500)).toEqual([]);
  });

  it('validates bodies that actually carry data', async () => {
    const res = await h.get(
      '/v1/serverless/requests/by-endpoint?endpoint_id=alice/img&expand=payloads,billing&limit=100',
      h.keys.adminA,
    );
    const body = res.json();
    expect(body.items.length).toBe(100);
    expect(body.has_more).toBe(true);
    const analytics = (
      await h.get(`/v1/serverless/analytics?endpoint_id=alice/img&expand=summary,p50_duration,request_count`)
    ).json();
    expect(analytics.summary[0].request_count).toBeGreaterThan(0);
    // A cell with requests but no cold boots: its cold-boot percentile is present, as null.
    const cold = (
      await h.get(
        `/v1/serverless/analytics?endpoint_id=alice/img&expand=time_series,p50_cold_boot_duration,cold_boot_count&timeframe=hour`,
      )
    ).json();
    const records = cold.time_series.flatMap((b: { results: object[] }) => b.results);
    expect(records).toContainEqual(
      expect.objectContaining({ cold_boot_count: 0, p50_cold_boot_duration: null }),
    );
    for (const r of records) expect(r).toHaveProperty('p50_cold_boot_duration');
    const usage = (await h.get('/v1/serverless/usage?expand=summary', h.keys.adminA)).json();
    expect(usage.summary.length).toBeGreaterThan(0);
  });

  it('would catch a non-conforming body', async () => {
    const res = await h.get('/v1/serverless/usage?expand=summary', h.keys.adminA);
    const body = res.json();
    delete body.summary[0].is_surge;
    const broken = { ...res, body: JSON.stringify(body) } as LightMyRequestResponse;
    expect(violations('serverlessGetUsage', broken).join()).toMatch(/is_surge/);
    expect(
      violations('serverlessGetUsage', { ...res, statusCode: 418 } as LightMyRequestResponse),
    ).not.toEqual([]);
  });
});
