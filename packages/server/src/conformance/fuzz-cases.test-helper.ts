import type { Readable } from 'node:stream';
import fc from 'fast-check';
import { multipartBody } from '../api/files/server.test-helper.js';
import type { FalOperation, FalParameter } from './fal-document.test-helper.js';
import { type FuzzBody, localUploadBodies, logsBodies, urlBodies } from './fuzz-bodies.test-helper.js';
import { mutatedValue, type ParamVal, type Val, validValue } from './fuzz-values.test-helper.js';
import type { SeedData } from './seed.test-helper.js';
import type { KeyName } from './server.test-helper.js';

// One fuzz case of an operation, generated from its parameter schemas: all valid, one parameter (or the
// body) mutated, everything at random, or valid inputs under another key.

/** One generated call. */
export interface FuzzCase {
  mode: 'valid' | 'mutate' | 'chaos' | 'auth';
  params: Record<string, ParamVal | undefined>;
  body?: FuzzBody;
  /** Query parameters the document does not define (they must be ignored or refused, never crash). */
  extraQuery: [string, string][];
  /** Headers beyond the document's parameters (Range and If-None-Match on downloads). */
  extraHeaders: Record<string, string>;
  key: KeyName;
}

const KEYS: KeyName[] = ['admin', 'api', 'bobAdmin', 'bobApi', 'none', 'malformed', 'unknown'];
const RANGES = [
  'bytes=0-1',
  'bytes=-2',
  'bytes=1-',
  'bytes=9-1',
  'bytes=100000-',
  'items=0-1',
  'bytes=0-0,2-3',
  'bytes=x',
];

function bodiesOf(op: FalOperation, d: SeedData) {
  switch (op.operationId) {
    case 'serverlessLogsHistory':
    case 'serverlessLogsStream':
      return logsBodies(d);
    case 'serverlessUploadFromUrl':
      return urlBodies(d);
    case 'serverlessUploadLocalFile':
      return localUploadBodies();
  }
  if (op.requestBody) throw new Error(`${op.operationId} takes a body the fuzzer cannot make yet`);
  return null;
}

function extraHeaders(op: FalOperation): fc.Arbitrary<Record<string, string>> {
  if (op.operationId !== 'serverlessDownloadFile') return fc.constant({});
  return fc.record(
    { range: fc.constantFrom(...RANGES), 'if-none-match': fc.constantFrom('*', '"nope"', 'W/"x"') },
    { requiredKeys: [] },
  );
}

/** Generates calls of `op` over the seeded data. */
export function fuzzCases(op: FalOperation, d: SeedData): fc.Arbitrary<FuzzCase> {
  const params = op.parameters;
  const valid = new Map(params.map((p) => [p.name, validValue(op.operationId, p, d)]));
  const mutated = new Map(params.map((p) => [p.name, mutatedValue(p, d, valid.get(p.name)!)]));
  const bodies = bodiesOf(op, d);
  const baseKey: KeyName = op.security.some((s) => 'adminApiKey' in s) ? 'admin' : 'api';
  const optional = (p: FalParameter, arb: fc.Arbitrary<ParamVal>) =>
    p.required ? arb : fc.option(arb, { nil: undefined, freq: 2 });
  const record = (pick: (p: FalParameter) => fc.Arbitrary<ParamVal | undefined>) =>
    fc.record(Object.fromEntries(params.map((p) => [p.name, pick(p)])));
  const validParams = record((p) => optional(p, valid.get(p.name)!));
  const validBody = bodies ? bodies.valid : fc.constant(undefined);
  const base = {
    extraHeaders: fc.oneof(fc.constant({}), extraHeaders(op)),
    extraQuery: fc.constant<[string, string][]>([]),
  };

  const allValid = fc.record({ ...base, params: validParams, body: validBody, key: fc.constant(baseKey) });
  const targets = [...params.map((p) => p.name), ...(bodies ? ['(body)'] : []), '(query)'];
  const mutateOne = fc.constantFrom(...targets).chain((target) =>
    fc.record({
      ...base,
      extraQuery: target === '(query)' ? UNKNOWN_QUERY : fc.constant<[string, string][]>([]),
      params: mutated.has(target)
        ? validParams.chain((ps) => mutated.get(target)!.map((v) => ({ ...ps, [target]: v })))
        : validParams,
      body: target === '(body)' && bodies ? bodies.mutated : validBody,
      key: fc.constant(baseKey),
    }),
  );
  const chaos = fc.record({
    ...base,
    params: record((p) => fc.oneof(fc.constant(undefined), valid.get(p.name)!, mutated.get(p.name)!)),
    body: bodies ? fc.oneof(fc.constant(undefined), bodies.valid, bodies.mutated) : fc.constant(undefined),
    key: fc.constantFrom(...KEYS),
  });
  const auth = fc.record({ ...base, params: validParams, body: validBody, key: fc.constantFrom(...KEYS) });
  return fc.oneof(
    { weight: 4, arbitrary: allValid.map((c) => ({ ...c, mode: 'valid' as const })) },
    { weight: 5, arbitrary: mutateOne.map((c) => ({ ...c, mode: 'mutate' as const })) },
    { weight: 2, arbitrary: chaos.map((c) => ({ ...c, mode: 'chaos' as const })) },
    { weight: 1, arbitrary: auth.map((c) => ({ ...c, mode: 'auth' as const })) },
  );
}

const UNKNOWN_QUERY = fc.array(
  fc.tuple(
    fc.constantFrom('foo', '__proto__', 'constructor', 'limit[]', 'a.b', '', '%00'),
    fc.constantFrom('bar', '', '-1', '%ZZ', '[]', 'x'.repeat(2000)),
  ),
  { minLength: 1, maxLength: 3 },
);

const FILE_PATH_PARAMS = new Set(['dir', 'file', 'target_path']);

function wellFormed(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

function encodeVal(v: Val, isPath: boolean): string {
  if (typeof v !== 'string') return v.raw;
  const text = wellFormed(v);
  return isPath ? text.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(text);
}

/** The request line path of a case: `/v1` + the operation's path, parameters encoded or raw. */
export function caseUrl(op: FalOperation, c: FuzzCase): string {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = c.params[name];
    const vals = v === undefined ? [''] : Array.isArray(v) ? v : [v];
    return vals.map((x) => encodeVal(x, FILE_PATH_PARAMS.has(name))).join('/');
  });
  const query: string[] = [];
  for (const p of op.parameters) {
    const v = c.params[p.name];
    if (p.in !== 'query' || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v])
      query.push(`${encodeURIComponent(p.name)}=${encodeVal(x, false)}`);
  }
  for (const [name, value] of c.extraQuery) query.push(`${name}=${value}`);
  return `/v1${path}${query.length ? `?${query.join('&')}` : ''}`;
}

/** Header values must be visible ASCII to be sent at all; anything else is sent percent-encoded. */
function headerSafe(v: Val): string {
  const text = typeof v === 'string' ? v : v.raw;
  return /^[\x20-\x7e]*$/.test(text) ? text.trim() : encodeURIComponent(wellFormed(text));
}

/** Headers and body of a case (multipart bodies are streams: call this once per send). */
export function caseRequest(
  op: FalOperation,
  c: FuzzCase,
): { headers: Record<string, string>; body?: string | Readable } {
  const headers: Record<string, string> = { ...c.extraHeaders };
  for (const p of op.parameters) {
    const v = c.params[p.name];
    if (p.in === 'header' && v !== undefined)
      headers[p.name] = (Array.isArray(v) ? v : [v]).map(headerSafe).join(',');
  }
  const body = c.body;
  if (body === undefined) return { headers };
  if ('multipart' in body) {
    const m = multipartBody(body.multipart.field, body.multipart.filename, body.multipart.content);
    return { headers: { ...headers, ...m.headers }, body: m.body };
  }
  if (body.contentType) headers['content-type'] = body.contentType;
  return { headers, body: body.text };
}
