import { ERRORS, type ErrorCode, type LogLine, type StoredLogLine } from '@hangar/core';
import { Type } from 'typebox';
import { isoUtc } from '../apps/time-window.js';

/** fal's log entry object. */
export const LogEntrySchema = Type.Object(
  {
    timestamp: Type.String(),
    level: Type.String(),
    message: Type.String(),
    app: Type.String(),
    revision: Type.String(),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

/** fal's history page. `next_cursor` is opaque here (fal's is a timestamp; both are accepted back). */
export const LogsHistoryResponse = Type.Object({
  items: Type.Array(LogEntrySchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
});

/** A log entry on the wire. */
export interface LogEntry {
  timestamp: string;
  level: string;
  message: string;
  app: string;
  revision: string;
  labels: Record<string, string>;
}

/** Maps a stored row to fal's entry: ISO timestamp with ms and Z, lower-case level, the bare app name. */
export function rowToEntry(r: StoredLogLine): LogEntry {
  return {
    timestamp: isoUtc(r.ts),
    level: r.level.toLowerCase(),
    message: r.message,
    app: r.app,
    revision: r.revision,
    labels: r.labels,
  };
}

/** Maps a live line to fal's entry. */
export function lineToEntry(l: LogLine): LogEntry {
  return {
    timestamp: isoUtc(l.ts),
    level: l.level.toLowerCase(),
    message: l.message,
    app: l.app,
    revision: l.revision,
    labels: l.labels,
  };
}

/** One SSE event for an entry; JSON never contains a raw newline, so one `data:` line suffices. */
export function sseFrame(id: number | undefined, entry: LogEntry): string {
  const data = `data: ${JSON.stringify(entry)}\n\n`;
  return id === undefined ? data : `id: ${id}\n${data}`;
}

/** An SSE `error` event carrying fal's error envelope, after which the server closes the stream. */
export function sseError(code: ErrorCode, message?: string): string {
  const { type } = ERRORS[code];
  return `event: error\ndata: ${JSON.stringify({ error: { type, message: message ?? ERRORS[code].message, code } })}\n\n`;
}
