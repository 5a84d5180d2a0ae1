// The logs part of the read ports (read-ports.ts re-exports it).

// ------------------------------------------------------------------------------------------------- logs

/** fal's `run_source` values. */
export const RUN_SOURCES = ['grpc-run', 'grpc-register', 'gateway', 'cron'] as const;
export type RunSource = (typeof RUN_SOURCES)[number];

/** A label condition in normal form (a missing label matches `ne` and `nin`, never `eq` or `in`). */
export interface LabelCondition {
  key: string;
  op: 'eq' | 'in' | 'ne' | 'nin';
  values: string[];
}

/** Every filter of a logs query, resolved and structured-cloneable. */
export interface LogFilter {
  owner: string;
  start: number;
  end: number;
  /** App names of `owner`, or null for all. */
  apps: string[] | null;
  revision: string | null;
  runSource: RunSource | null;
  /** False leaves out lines labelled `traceback: "true"`. */
  traceback: boolean;
  /** Case-insensitive substring of the message, or null. */
  search: string | null;
  /** Stored levels at or above the requested minimum, or null for all. */
  levels: string[] | null;
  jobId: string | null;
  requestId: string | null;
  labels: LabelCondition[];
}

/** A resolved history position: lines strictly before (ts, id); id 0 means strictly before `ts`. */
export interface HistoryPosition {
  ts: number;
  id: number;
}

/** A history upper bound as a client wrote it: a millisecond and the nanoseconds into it (a line rank). */
export interface HistoryBound {
  ts: number;
  ns: number;
}

/** Params of a history page: upper bounds as the client sent them (`cursor`, `end`), the earliest wins. */
export interface LogsHistoryPageParams {
  filter: LogFilter;
  bounds: (HistoryBound | HistoryPosition)[];
  limit: number;
}

/** A history page: the `items` array (fal's log entries, newest first) as JSON, and the next cursor. */
export interface LogsHistoryPage {
  itemsJson: string;
  /** The `next_cursor` (a timestamp with the line rank in its nanoseconds) when another page exists. */
  next: string | null;
}

/** Params of `logs.after`: lines with id greater than `afterId`, oldest id first. */
export interface LogsAfterParams {
  filter: LogFilter;
  afterId: number;
  limit: number;
}

/** A stored log line as reads return it. */
export interface StoredLogLine {
  /** Assigned by the store; increases in commit order. */
  id: number;
  ts: number;
  app: string;
  revision: string;
  level: string;
  message: string;
  labels: Record<string, string>;
}

/** Log reads: the history page and the stream's backfill. */
export interface LogReads {
  /** A history page, newest first (by ts, then id). */
  historyPage(p: LogsHistoryPageParams): Promise<LogsHistoryPage>;
  /** Matching lines with id above `afterId`, in id order (the order live lines arrive in). */
  after(p: LogsAfterParams): Promise<StoredLogLine[]>;
  /** An id below every line of `owner` stamped at or after `start`, where a stream's backfill begins. */
  firstIdFrom(p: { owner: string; start: number }): Promise<number>;
}
