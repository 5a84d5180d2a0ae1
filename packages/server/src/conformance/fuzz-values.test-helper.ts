import { ANALYTICS_METRICS } from '@hangar/core';
import fc from 'fast-check';
import type { FalParameter, JsonSchema } from './fal-document.test-helper.js';
import type { SeedData } from './seed.test-helper.js';

// Values for one parameter of one operation: valid ones drawn from its schema and the seeded data, and
// mutated ones (wrong types, out-of-range numbers, huge and exotic strings, traversal, bad cursors,
// dates and timezones, unknown enum values, other tenants' ids).

/** A value put in a URL: decoded text (percent-encoded when sent), or `raw` text sent as written. */
export type Val = string | { raw: string };
/** A parameter's value; an array is sent as the parameter repeated. */
export type ParamVal = Val | Val[];

const day = 86_400_000;
const TIMEZONES = [
  'UTC',
  'America/New_York',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Australia/Lord_Howe',
  'Europe/Berlin',
];
const EXPAND: Record<string, string[]> = {
  serverlessGetAnalytics: ['time_series', 'summary', ...ANALYTICS_METRICS],
  serverlessListRequestsByEndpoint: ['payloads', 'billing'],
  serverlessGetUsage: ['time_series', 'summary'],
  serverlessListApps: ['endpoints'],
};

const recentInstant = fc.integer({ min: -3 * day, max: day / 2 }).map((d) => Date.now() + d);
const isoDateTime = fc
  .tuple(recentInstant, fc.constantFrom('Z', '+00:00', '+05:30', '-04:00'), fc.boolean())
  .map(([t, zone, ms]) => {
    const iso = new Date(t).toISOString();
    const base = ms ? iso.slice(0, -1) : iso.slice(0, 19);
    return zone === 'Z' ? `${base}Z` : `${base}${zone}`;
  });
const isoDate = recentInstant.map((t) => new Date(t).toISOString().slice(0, 10));

/** Analytics needs a view (`time_series`/`summary`) and at least one metric. */
const analyticsExpand: fc.Arbitrary<ParamVal> = fc
  .tuple(
    fc.subarray(['time_series', 'summary'], { minLength: 1 }),
    fc.subarray([...ANALYTICS_METRICS], { minLength: 1, maxLength: 6 }),
  )
  .chain(([views, metrics]) =>
    fc.oneof(
      fc.constant<ParamVal>([...views, ...metrics]),
      fc.constant<ParamVal>([...views, ...metrics].join(',')),
    ),
  );

/** One or more picks, sent repeated or comma-joined. */
function listOf(values: string[], max = 3): fc.Arbitrary<ParamVal> {
  const picks = fc.uniqueArray(fc.constantFrom(...values), {
    minLength: 1,
    maxLength: Math.min(max, values.length),
  });
  return fc.oneof(
    picks.map((p) => p as ParamVal),
    picks.map((p) => p.join(',')),
  );
}

function enumOf(schema: JsonSchema): string[] | null {
  if (schema.enum) return schema.enum.map(String);
  for (const alt of schema.anyOf ?? []) {
    const found = alt.enum ?? alt.items?.enum;
    if (found) return found.map(String);
  }
  return null;
}

function fromSchema(schema: JsonSchema): fc.Arbitrary<ParamVal> {
  const values = enumOf(schema);
  if (values)
    return schema.anyOf?.some((a) => a.type === 'array') ? listOf(values) : fc.constantFrom(...values);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer') {
    const min = schema.minimum ?? 0;
    return fc.integer({ min, max: schema.maximum ?? min + 2000 }).map(String);
  }
  if (type === 'boolean') return fc.constantFrom('true', 'false');
  if (schema.anyOf?.some((a) => a.format === 'date-time')) return fc.oneof(isoDateTime, isoDate);
  if (schema.format === 'uuid') return fc.uuid();
  return fc.string({ maxLength: 12 });
}

/** Valid values of a parameter, from the seeded data where the name says what it holds. */
export function validValue(opId: string, p: FalParameter, d: SeedData): fc.Arbitrary<ParamVal> {
  const own = d.endpointIds;
  switch (p.name) {
    case 'endpoint_id':
      return listOf(own);
    case 'app_id':
      return listOf([...own.slice(0, 1), 'demo/png', 'echo', 'png']);
    case 'app':
      return listOf(['echo', 'png', 'demo/echo']);
    case 'owner':
      return fc.constant(d.owner);
    case 'name':
      return fc.constantFrom(...d.apps);
    case 'dir':
      return fc.constantFrom(...d.dirs, `/data/${d.dirs[0]}`, `${d.dirs[1]}/`);
    case 'file':
      return opId === 'serverlessDownloadFile'
        ? fc.constantFrom(...d.files, `data/${d.files[0]}`)
        : fc.stringMatching(/^[a-z0-9]{1,8}$/).map((n) => `fuzz/url/${n}.txt`);
    case 'target_path':
      return fc.stringMatching(/^[a-z0-9]{1,8}$/).map((n) => `fuzz/local/${n}.txt`);
    case 'timezone':
      return fc.constantFrom(...TIMEZONES);
    case 'cursor':
      return d.cursors[opId] ? fc.constant(d.cursors[opId]!) : fromSchema(p.schema);
    case 'expand':
      if (opId === 'serverlessGetAnalytics') return analyticsExpand;
      return EXPAND[opId] ? listOf(EXPAND[opId]!, 4) : fromSchema(p.schema);
    case 'request_id':
      return fc.oneof(fc.constantFrom(...d.requestIds), fc.uuid());
    case 'revision':
      return fc.constantFrom(...d.revisionIds);
    case 'job_id':
      return fc.oneof(fc.constantFrom(...d.requestIds), fc.stringMatching(/^[a-z0-9_]{1,10}$/));
    case 'level':
      return fc.constantFrom('debug', 'info', 'warn', 'error', 'warning', 'INFO');
    case 'search':
      return fc.oneof(fc.constantFrom('log', 'ech', 'line 1', '%', '_'), fc.string({ maxLength: 8 }));
    case 'environment':
      return fc.constant('main');
    case 'Idempotency-Key':
      return fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/));
  }
  return fromSchema(p.schema);
}

const TRAVERSAL: string[] = [
  '..',
  '../..',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  '%2e%2e/%2e%2e/x',
  '%252e%252e/x',
  'a%5c..%5cb',
  '..%5c..%5cx',
  '%00',
  'a%00b',
  'data/../../x',
  '/etc/passwd',
  'C:%5Cwindows',
  '.hangar-tmp-x',
  '%C0%AE%C0%AE/x',
  '%ZZ',
  '%',
  'a//b/./c',
  '%E2%80%AE',
];
const BAD_DATES = [
  '2025-13-45',
  '2025-02-30',
  'yesterday',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '1970-01-01',
  '2025-01-01T00:00:00+25:00',
  '2025-01-01T24:00:00Z',
  '20250101',
  '2025-01-01T00:00:00',
  '-1',
  '1e15',
];
const BAD_TIMEZONES = [
  'Not/AZone',
  'UTC+5',
  '../etc/localtime',
  'Etc/GMT+99',
  '+05:30',
  'utc',
  'America/New_York ',
];
const WRONG_TYPES = ['abc', 'true', '1.5', '-1', '0', '1e309', 'NaN', '[]', '{}', 'null', '0x10', ' 5'];

function badCursors(d: SeedData): fc.Arbitrary<Val> {
  const real = Object.values(d.cursors);
  return fc.oneof(
    fc.constantFrom('Mg==', '!!!', 'AAAA'.repeat(100), '=', 'eyJ4IjoxfQ'),
    fc.base64String({ maxLength: 60 }),
    fc.constantFrom(...real),
    fc
      .constantFrom(...real)
      .chain((c) =>
        fc
          .nat({ max: c.length - 1 })
          .map((i) => `${c.slice(0, i)}${c[i] === 'A' ? 'B' : 'A'}${c.slice(i + 1)}`),
      ),
  );
}

/** A mutated value of a parameter: any kind of hostile or malformed input. */
export function mutatedValue(
  p: FalParameter,
  d: SeedData,
  valid: fc.Arbitrary<ParamVal>,
): fc.Arbitrary<ParamVal> {
  const enumValues = enumOf(p.schema) ?? ['x'];
  const min = p.schema.minimum ?? 0;
  const max = p.schema.maximum ?? 10_000;
  const other = ['bob/echo', 'bob', 'bob/echo/slow', d.bobRequestId, d.bobRevisionId, '../bob/x'];
  return fc.oneof(
    fc.constantFrom(...WRONG_TYPES),
    fc.constantFrom(min - 1, max + 1, 2 ** 31, 2 ** 53 + 2, -(2 ** 53)).map(String),
    fc.oneof(
      fc.integer({ min: 300, max: 3000 }).map((n) => 'a'.repeat(n)),
      fc.integer({ min: 50, max: 300 }).map((n) => 'é😀'.repeat(n)),
    ),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('\u0000', '\u202e', '\u200b', 'ǅ', 'ß', 'ﬁ', '𝕏', ' ', ''),
    fc.constantFrom(...TRAVERSAL).map((raw) => ({ raw })),
    badCursors(d),
    fc.constantFrom(...BAD_DATES, ...BAD_TIMEZONES),
    fc.constantFrom(...enumValues).chain((v) => fc.constantFrom(v.toUpperCase(), `${v}x`, ` ${v}`, 'foo')),
    fc.tuple(valid, valid).map(([a, b]) => [a, b].flat()),
    fc.array(fc.constantFrom('', ',', 'a', 'x,y'), { minLength: 2, maxLength: 60 }),
    fc.constantFrom(...other),
  );
}
