import type { HttpTransport } from '../http.js';
import { asQuery, paginate } from '../paging.js';
import { type ReconnectOptions, reconnectingSse } from '../reconnecting-sse.js';
import type { LabelFilter, LogEntry, LogsHistoryResponse, TimeBound } from '../types.js';

/** Query filters shared by logs history and stream. */
export interface LogsQuery {
  start?: TimeBound;
  end?: TimeBound;
  app_id?: string | string[];
  revision?: string;
  run_source?: 'grpc-run' | 'grpc-register' | 'gateway' | 'cron';
  traceback?: boolean;
  search?: string;
  /** Minimum level, e.g. `warn`. */
  level?: string;
  job_id?: string;
  request_id?: string;
}

/** Logs history parameters: the filters plus paging. */
export interface LogsHistoryQuery extends LogsQuery {
  limit?: number;
  cursor?: string;
}

/** A streamed log line with its event id (what a reconnection resumes after). */
export interface StreamedLogEntry extends LogEntry {
  id: string | null;
}

/** Options of a log stream. */
export interface LogStreamOptions extends ReconnectOptions {
  signal?: AbortSignal;
}

/** The Logs API: history pages and a live stream. */
export function createLogs(http: HttpTransport) {
  const history = (query: LogsHistoryQuery = {}, labels?: LabelFilter[]) =>
    http.json<LogsHistoryResponse>('POST', '/v1/serverless/logs/history', {
      query: asQuery(query),
      body: labels ?? [],
    });

  return {
    /** One page of log lines, newest first; pass `next_cursor` back as `cursor` for older lines. */
    history,

    /** Every matching line, newest first, across pages. */
    iterate: (query: Omit<LogsHistoryQuery, 'cursor'> = {}, labels?: LabelFilter[]) =>
      paginate(
        (cursor) => history({ ...query, cursor }, labels),
        (page) => page.items,
      ),

    /**
     * Follows log lines as they are written (from `start` when given, then live; until `end` when given).
     * A dropped connection is resumed with `Last-Event-ID`, so no line is lost or repeated; a stream that
     * drops before its first line resumes from the moment it first connected.
     */
    async *stream(
      query: LogsQuery = {},
      labels?: LabelFilter[],
      opts: LogStreamOptions = {},
    ): AsyncGenerator<StreamedLogEntry> {
      let connectedAt: string | null = null;
      const open = async (lastEventId: string | null) => {
        const q: LogsQuery = { ...query };
        if (lastEventId === null && connectedAt !== null && q.start === undefined) q.start = connectedAt;
        connectedAt ??= new Date().toISOString();
        const res = await http.raw('POST', '/v1/serverless/logs/stream', {
          query: asQuery(q),
          body: labels ?? [],
          headers: {
            accept: 'text/event-stream',
            ...(lastEventId === null ? {} : { 'last-event-id': lastEventId }),
          },
          signal: opts.signal,
        });
        if (!res.body) throw new Error('log stream has no body');
        return res.body;
      };
      const events = reconnectingSse(open, { ...opts, finite: query.end !== undefined });
      for await (const ev of events) {
        if (ev.data === '') continue;
        yield { ...(JSON.parse(ev.data) as LogEntry), id: ev.id };
      }
    },
  };
}

/** The logs client. */
export type LogsApi = ReturnType<typeof createLogs>;
