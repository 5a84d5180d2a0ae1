import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { falViolations } from '../api/apps/testing/fal-oracle.test-helper.js';
import { multipartBody } from '../api/files/server.test-helper.js';
import { falServerlessOperations } from './fal-document.test-helper.js';
import { falDocumentMissing } from './fal-openapi.test-helper.js';
import { type SeedData, seedRealData } from './seed.test-helper.js';
import type { ConformanceServer, SeenResponse } from './server.test-helper.js';
import {
  encodeBody,
  missingRequired,
  type OperationInput,
  operationUrl,
  VALID_INPUTS,
} from './valid-inputs.test-helper.js';

// The whole server with the demo apps and real recorded data; every `/serverless` operation of fal's
// document is called with valid inputs and its answer checked against the document: status, content
// type and body schema (ajv, JSON Schema 2020-12). The list of operations is the document's own.

const OPS = falServerlessOperations();

/** The SSE events of a closed log stream, each `data:` checked as a logs history item. */
function streamViolations(res: SeenResponse): string[] {
  const items = res.body
    .split('\n\n')
    .filter((event) => !event.startsWith(':') && event.includes('data: '))
    .map((event) => {
      if (/^event: /m.test(event)) throw new Error(`the stream sent an error event: ${event}`);
      return JSON.parse(event.slice(event.indexOf('data: ') + 6));
    });
  if (items.length === 0) return ['the stream sent no log line'];
  const asPage = { ...res, headers: { 'content-type': 'application/json' } };
  return falViolations('serverlessLogsHistory', {
    ...asPage,
    body: JSON.stringify({ items, next_cursor: null, has_more: false }),
  });
}

async function send(
  s: ConformanceServer,
  method: string,
  url: string,
  input: OperationInput,
): Promise<SeenResponse> {
  const encoded = encodeBody(input.body);
  return s.call(method, url, {
    key: input.key ?? 'api',
    headers: { ...encoded.headers, ...input.headers },
    body: encoded.body,
  });
}

/**
 * The walk and the fuzzer's fixed minimal cases against a server `start` gives (seeded here, closed
 * after), so the same checks run on every backend.
 */
export function describeOperationsWalk(start: () => Promise<ConformanceServer>): void {
  let s: ConformanceServer;
  let data: SeedData;

  beforeAll(async () => {
    s = await start();
    data = await seedRealData(s);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  describe.skipIf(falDocumentMissing !== null)(
    "every /serverless operation of fal's document, with valid inputs and real data",
    () => {
      it('the document lists the 17 operations, and each has valid inputs here', () => {
        expect(OPS.length).toBeGreaterThanOrEqual(17);
        expect(OPS.map((op) => op.operationId).filter((id) => !VALID_INPUTS[id])).toEqual([]);
      });

      it.each(OPS.map((op) => [op.operationId, op] as const))('%s', async (_id, op) => {
        const build = VALID_INPUTS[op.operationId];
        if (!build) throw new Error(`no valid input for ${op.operationId}: add one to VALID_INPUTS`);
        const success = Number(Object.keys(op.responses).find((status) => status.startsWith('2')));
        for (const input of build(data)) {
          expect(missingRequired(op, input), `${op.operationId}: required query parameters`).toEqual([]);
          const url = operationUrl(op, input);
          const res = await send(s, op.method, url, input);
          const what = `${op.method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, what).toBe(input.status ?? success);
          expect(falViolations(op.operationId, res), what).toEqual([]);
          if (op.operationId === 'serverlessLogsStream') expect(streamViolations(res), what).toEqual([]);
          const problem = input.holds?.(JSON.parse(res.body));
          if (problem) throw new Error(`${what}: ${problem}`);
        }
      });

      it('an API key is refused on usage with the documented 403 error envelope', async () => {
        const op = OPS.find((o) => o.operationId === 'serverlessGetUsage')!;
        expect(op.security).toEqual([{ adminApiKey: [] }]);
        const res = await s.call('GET', '/v1/serverless/usage?expand=summary', { key: 'api' });
        expect(res.statusCode).toBe(403);
        expect(falViolations('serverlessGetUsage', res)).toEqual([]);
        expect(JSON.parse(res.body).error.type).toBe('authorization_error');
      });
    },
  );

  describe('minimal cases the fuzzer found stay fixed', () => {
    it.each([
      ['serverlessListAppRevisions', 'GET', '/v1/serverless/apps/demo/png/revisions?limit=1e309', 400],
      ['serverlessLogsHistory', 'POST', '/v1/serverless/logs/history?limit=1e309', 400],
      [
        'serverlessGetAnalytics',
        'GET',
        '/v1/serverless/analytics?endpoint_id=demo/echo&end=9999-12-31T23:59:59Z&timezone=Europe/Berlin',
        400,
      ],
      ['serverlessGetAppQueueInfo', 'GET', '/v1/serverless/apps//echo/queue', 403],
      ['serverlessGetAppQueueInfo', 'GET', `/v1/serverless/apps/demo/${'n'.repeat(101)}/queue`, 404],
      // PostgreSQL text cannot hold NUL: on that backend these answered 500 until NULs were mapped.
      ['serverlessGetAppQueueInfo', 'GET', '/v1/serverless/apps/demo/%00/queue', 404],
      ['serverlessListApps', 'GET', '/v1/serverless/apps?environment=a%00b', 200],
      [
        'serverlessListRequestsByEndpoint',
        'GET',
        '/v1/serverless/requests/by-endpoint?endpoint_id=demo%2Fecho&request_id=%00',
        200,
      ],
    ])('%s %s %s → %i', async (id, method, url, status) => {
      const res = await s.call(method, url);
      expect(res.statusCode, res.body).toBe(status);
      if (id !== 'serverlessLogsHistory') expect(falViolations(id, res)).toEqual([]);
    });

    it.each([
      ['multipart/form-data; boundary=x', 'garbage'],
      ['multipart/form-data', ''],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="file_upload"; filename="a"\r\n\r\nab',
      ],
    ])('a malformed multipart body (%s) is 400, not 500', async (type, body) => {
      const res = await s.call('POST', '/v1/serverless/files/file/local/broken.txt', {
        headers: { 'content-type': type },
        body,
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(falViolations('serverlessUploadLocalFile', res)).toEqual([]);
    });

    it('an upload refused before its part is read leaves the keep-alive connection usable', async () => {
      const client = new Client(s.server.url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
      try {
        const part = multipartBody('file_upload', 'big.bin', { size: (1 << 20) - 1024, byte: 7 });
        const headers = { authorization: `Key ${s.keys.api}`, ...part.headers };
        const refused = await client.request({
          method: 'POST',
          path: '/v1/serverless/files/file/local/datasets',
          headers,
          body: part.body,
        });
        expect(refused.statusCode).toBe(400);
        await refused.body.text();
        const next = await client.request({
          method: 'GET',
          path: '/v1/serverless/files/list',
          headers: { authorization: `Key ${s.keys.api}` },
        });
        expect(next.statusCode).toBe(200);
        await next.body.text();
      } finally {
        await client.close();
      }
    });
  });
}
