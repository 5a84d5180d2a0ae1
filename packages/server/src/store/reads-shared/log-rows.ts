import type { StoredLogLine } from '@hangar/core';

/** A `logs` row as the engines' queries return it: a stored line with its labels still JSON text. */
export type LogRow = Omit<StoredLogLine, 'labels'> & { labels: string };

/**
 * How far (ms) a line's timestamp may trail lines appended before it (the server stamps lines as it
 * receives them). It bounds the ids of a time window: the stream's backfill starts below every line of
 * the window, and a search's candidates are looked for that far around it.
 */
export const BACKFILL_SKEW_MS = 60_000;

/** A row with its labels parsed. */
export function storedLine(r: LogRow): StoredLogLine {
  const { id, ts, app, revision, level, message } = r;
  return { id, ts, app, revision, level, message, labels: JSON.parse(r.labels) as Record<string, string> };
}
