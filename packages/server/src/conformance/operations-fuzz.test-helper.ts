import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { falServerlessOperations } from './fal-document.test-helper.js';
import { falDocumentMissing } from './fal-openapi.test-helper.js';
import { caseRequest, caseUrl, type FuzzCase, fuzzCases } from './fuzz-cases.test-helper.js';
import { type Extras, fuzzViolations, type KnownDeviation } from './fuzz-oracle.test-helper.js';
import { type SeedData, seedRealData } from './seed.test-helper.js';
import type { ConformanceServer } from './server.test-helper.js';

// Property-based fuzzing of every `/serverless` operation of fal's document against the whole server
// with real data: valid and mutated inputs generated from each operation's parameter schemas. For every
// case: never a 5xx, a status the document lists (or a documented extra), a body matching its schema.
// HANGAR_FUZZ_SEED replays a run; HANGAR_FUZZ_CASES sets the total number of cases (at least 10,000 in CI).

/**
 * Statuses beyond fal's document that our docs promise, allowed for that operation only; an error
 * status among them must still carry the error envelope.
 */
const DOCUMENTED_EXTRAS: Extras = {
  // docs/api-files.md "Listing": a missing directory is 404 (the issue asks for it; fal lists none).
  serverlessListDirectory: { 404: 'missing directory' },
  // docs/api-files.md "Download": conditional and range requests.
  serverlessDownloadFile: { 206: 'Range', 304: 'If-None-Match', 416: 'unsatisfiable or malformed Range' },
  // docs/api-files.md "Server-side fetch safety": the fetched body is over `urlFetch.maxBytes`.
  serverlessUploadFromUrl: { 413: 'NET_RESPONSE_TOO_LARGE' },
  // docs/api-files.md "Upload": over `maxUploadBytes` (FILES_TOO_LARGE) or the zip caps.
  serverlessUploadLocalFile: { 413: 'upload or archive too large' },
  // docs/api-logs-metrics-apps.md "Logs": invalid parameters, another owner's app_id.
  serverlessLogsHistory: { 400: 'invalid parameter', 403: "another owner's app_id" },
  serverlessLogsStream: { 400: 'invalid parameter', 403: "another owner's app_id" },
};

/**
 * Found by this fuzzer, reported, not fixed yet (remove once fixed): the router rejects a path whose
 * percent-encoding is malformed (`/apps/%/echo/queue`) with 400 before any route is known, while fal
 * lists no 400 for the queue size.
 */
const KNOWN_DEVIATIONS: KnownDeviation[] = [
  { operationId: 'serverlessGetAppQueueInfo', status: 400, message: /is not a valid url component$/ },
];

const OPS = falServerlessOperations();
const MIN_CASES = 10_000;
const TOTAL = Number(process.env['HANGAR_FUZZ_CASES'] ?? MIN_CASES + 200);
const PER_OP = Math.ceil(TOTAL / OPS.length);
const SEED = Number(process.env['HANGAR_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

function describeCase(method: string, url: string, c: FuzzCase, headers: Record<string, string>): string {
  const body =
    c.body === undefined ? '' : 'multipart' in c.body ? ' [multipart]' : ` ${c.body.text.slice(0, 200)}`;
  return `${method} ${url.slice(0, 400)} key=${c.key} headers=${JSON.stringify(headers).slice(0, 200)}${body}`;
}

/** The fuzzer against a server `start` gives (seeded here, closed after), so it runs on every backend. */
export function describeOperationsFuzz(start: () => Promise<ConformanceServer>): void {
  let s: ConformanceServer;
  let data: SeedData;
  let executed = 0;
  const statuses = new Map<string, Map<number, number>>();
  const startedAt = Date.now();

  beforeAll(async () => {
    s = await start();
    data = await seedRealData(s);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const byOp = [...statuses].map(([id, counts]) => `${id} ${JSON.stringify(Object.fromEntries(counts))}`);
    console.log(`fuzz: ${executed} cases in ${seconds} s, seed ${SEED}\n${byOp.join('\n')}`);
  });

  describe.skipIf(falDocumentMissing !== null)(
    `fuzzing every /serverless operation (${PER_OP} cases each, seed ${SEED})`,
    () => {
      it.each(OPS.map((op, i) => [op.operationId, op, i] as const))(
        '%s',
        async (id, op, index) => {
          const seed = (SEED + index * 7919) % 2 ** 31;
          const counts = new Map<number, number>();
          statuses.set(id, counts);
          const property = fc.asyncProperty(fuzzCases(op, data), async (c) => {
            executed++;
            const url = caseUrl(op, c);
            const { headers, body } = caseRequest(op, c);
            const res = await s.call(op.method, url, { key: c.key, headers, body, headOnlyForStreams: true });
            counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
            const problems = fuzzViolations(op, res, DOCUMENTED_EXTRAS, KNOWN_DEVIATIONS);
            if (problems.length > 0) {
              const call = describeCase(op.method, url, c, headers);
              throw new Error(
                `${call}\n→ ${res.statusCode} ${res.body.slice(0, 400)}\n${problems.join('\n')}`,
              );
            }
          });
          try {
            await fc.assert(property, { seed, numRuns: PER_OP });
          } catch (err) {
            const cause =
              (err as Error).cause instanceof Error ? `\n${((err as Error).cause as Error).message}` : '';
            throw new Error(
              `${id} failed; rerun with HANGAR_FUZZ_SEED=${SEED} (this operation's seed: ${seed})\n${(err as Error).message}${cause}`,
            );
          }
          // Generated inputs must reach the operation's success path, not only its refusals.
          expect(
            [...counts.keys()].some((status) => status < 300),
            `${id} never succeeded`,
          ).toBe(true);
        },
        240_000,
      );

      it.runIf(!process.env['HANGAR_FUZZ_CASES'])(`ran at least ${MIN_CASES} cases`, () => {
        expect(executed).toBeGreaterThanOrEqual(MIN_CASES);
      });
    },
  );
}
