import { type LabelCondition, type LogFilter, PlatformError, parseInstant, RUN_SOURCES } from '@hangar/core';

export { LabelCondition, LogFilter, RUN_SOURCES, RunSource } from '@hangar/core';

import { type Static, Type } from 'typebox';
import { resolveWindow } from '../apps/time-window.js';

/** Log levels in increasing severity, as stored (lower case). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Query parameters shared by history and stream. */
export const LogQuerySchema = {
  start: Type.Optional(Type.String()),
  end: Type.Optional(Type.String()),
  app_id: Type.Optional(Type.Array(Type.String())),
  revision: Type.Optional(Type.String()),
  run_source: Type.Optional(Type.Enum(RUN_SOURCES)),
  traceback: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  search: Type.Optional(Type.String({ maxLength: 1000 })),
  level: Type.Optional(Type.String()),
  job_id: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String()),
};

const LabelFilterSchema = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 256 }),
    value: Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 1000 })]),
    condition_type: Type.Optional(Type.Enum(['equals', 'in', 'not_equals', 'not_in'])),
  },
  { additionalProperties: false },
);

/** The optional JSON body: a bare array of label filters. */
export const LabelFiltersBody = Type.Array(LabelFilterSchema, { maxItems: 100 });
export type LabelFilterInput = Static<typeof LabelFilterSchema>;

export type LogQuery = { [K in keyof typeof LogQuerySchema]?: Static<(typeof LogQuerySchema)[K]> };

const MAX_APP_IDS = 50;

/** Splits repeated and comma-separated `app_id` values into the caller's app names; 403 for others'. */
export function parseAppIds(values: string[] | undefined, owner: string): string[] | null {
  if (values === undefined) return null;
  const ids = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (ids.length < 1 || ids.length > MAX_APP_IDS || ids.some((v) => v === '')) {
    throw new PlatformError('REQUEST_INVALID', `app_id takes 1 to ${MAX_APP_IDS} non-empty values`);
  }
  return [
    ...new Set(
      ids.map((id) => {
        const parts = id.split('/');
        if (parts.length === 1) return id;
        if (parts.length !== 2 || !parts[0] || !parts[1]) {
          throw new PlatformError('REQUEST_INVALID', `app_id "${id}" is not in <owner>/<name> form`);
        }
        if (parts[0] !== owner) throw new PlatformError('AUTH_FORBIDDEN', `You do not own the app ${id}`);
        return parts[1];
      }),
    ),
  ];
}

/** The stored levels at or above a requested minimum (case-insensitive; `warning` means `warn`). */
export function levelsFrom(level: string | undefined): string[] | null {
  if (level === undefined || level === '') return null;
  const wanted = level.toLowerCase() === 'warning' ? 'warn' : level.toLowerCase();
  const i = LOG_LEVELS.indexOf(wanted as (typeof LOG_LEVELS)[number]);
  if (i < 0)
    throw new PlatformError('REQUEST_INVALID', 'level must be one of debug, info, warn, warning, error');
  return LOG_LEVELS.slice(i);
}

/** Normalises label filters: `equals` is the default; `in`/`not_in` accept a single string too. */
export function labelConditions(body: LabelFilterInput[] | undefined | null): LabelCondition[] {
  return (body ?? []).map((f) => {
    if (/["\\\u0000-\u001f]/.test(f.key)) {
      throw new PlatformError(
        'REQUEST_INVALID',
        'label keys may not contain quotes, backslashes or controls',
      );
    }
    const type = f.condition_type ?? 'equals';
    if ((type === 'equals' || type === 'not_equals') && typeof f.value !== 'string') {
      throw new PlatformError(
        'REQUEST_INVALID',
        `label filter ${f.key}: ${type} takes a single string value`,
      );
    }
    const values = typeof f.value === 'string' ? [f.value] : f.value;
    const op = ({ equals: 'eq', in: 'in', not_equals: 'ne', not_in: 'nin' } as const)[type];
    return { key: f.key, op, values };
  });
}

/** Open bounds of a stream without `start`/`end` (safe integers bind cleanly in SQL). */
export const OPEN_START = Number.MIN_SAFE_INTEGER;
export const OPEN_END = Number.MAX_SAFE_INTEGER;

/**
 * Resolves query string and body into a filter scoped to the caller's owner. History defaults to the last
 * 24 h; a stream (`open`) leaves missing bounds open.
 */
export function resolveLogFilter(
  q: LogQuery,
  body: LabelFilterInput[] | undefined | null,
  owner: string,
  now: number,
  open = false,
): LogFilter {
  const w = open
    ? {
        start: q.start === undefined ? OPEN_START : parseInstant(q.start, 'start'),
        end: q.end === undefined ? OPEN_END : parseInstant(q.end, 'end'),
      }
    : resolveWindow(q, now);
  if (w.start > w.end) throw new PlatformError('REQUEST_INVALID', 'start must not be after end');
  return {
    owner,
    start: w.start,
    end: w.end,
    apps: parseAppIds(q.app_id, owner),
    revision: q.revision ?? null,
    runSource: q.run_source ?? null,
    traceback: q.traceback === true,
    search: q.search ? q.search : null,
    levels: levelsFrom(q.level),
    jobId: q.job_id ?? null,
    requestId: q.request_id ?? null,
    labels: labelConditions(body),
  };
}
