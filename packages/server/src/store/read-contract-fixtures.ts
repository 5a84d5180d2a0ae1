import { HOUR_MS, type LogFilter, type RequestRecord, type Stores, type TimeWindow } from '@hangar/core';
import { logFilterFixture, requestFixture, revisionFixture } from './fixtures.js';

// Fixtures of the read contract (read-contract.ts).

export const T0 = Date.UTC(2026, 2, 1, 12);
export const WEEK = 7 * 24 * HOUR_MS;

export async function putApp(
  s: Stores,
  owner: string,
  app: string,
  at: number,
  routes = ['/'],
): Promise<void> {
  const rev = revisionFixture(`${app}-r${at}`, owner, app, at);
  await s.apps.putRevision({ ...rev, manifest: { ...rev.manifest, routes } });
}

/** Inserts and completes a request (ended `endedAt`, ran `durationMs`); in flight when `endedAt` is null. */
export async function seedRequest(
  s: Stores,
  id: string,
  over: Partial<RequestRecord>,
): Promise<RequestRecord> {
  const rec = requestFixture(id, { jsonInput: { n: id }, ...over });
  await s.requests.insert({ ...rec, status: 'IN_QUEUE', endedAt: null }, Buffer.from('{}'));
  if (rec.endedAt !== null) {
    const done: Partial<RequestRecord> = { ...rec, status: 'COMPLETED', jsonOutput: { ok: id } };
    s.requests.complete(id, done, null, rec.endedAt + HOUR_MS);
  }
  return rec;
}

export function done(sentAt: number, endedAt: number, code = 200, over: Partial<RequestRecord> = {}) {
  return {
    sentAt,
    startedAt: sentAt + 10,
    endedAt,
    statusCode: code,
    durationMs: endedAt - sentAt - 10,
    prepareMs: 10,
    runnerId: 'run-a',
    billableUnits: 1.5,
    ...over,
  } satisfies Partial<RequestRecord>;
}

/** A log filter of `owner` over the two weeks around `T0`, with `over` on top. */
export function logFilter(owner: string, over: Partial<LogFilter> = {}): LogFilter {
  return logFilterFixture(T0 - WEEK, T0 + WEEK, { owner, ...over });
}

export const utcHours = (startMs: number, endMs: number): TimeWindow => ({
  startMs,
  endMs,
  timeframe: 'hour',
  timezone: 'UTC',
});
