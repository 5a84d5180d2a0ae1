import {
  type HangarClient,
  type LabelFilter,
  type LogEntry,
  type LogsQuery,
  reconnectingSse,
} from '@hangar/client';
import { useEffect, useRef, useState } from 'preact/hooks';

/** A log line with a key unique within the tail. */
export interface TailLine extends LogEntry {
  key: string;
}

/** Connection state of the live tail. */
export type TailStatus =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; attempt: number }
  | { kind: 'ended' }
  | { kind: 'error'; error: unknown };

/** Most lines kept on screen; older ones scroll away. */
export const MAX_LINES = 3000;
const FLUSH_MS = 100;

/**
 * Follows `POST /v1/serverless/logs/stream` with fetch and a streamed body (EventSource cannot POST).
 * A dropped connection resumes after the last event id it delivered (`Last-Event-ID`), so no line is
 * lost or shown twice. Lines are handed over in small batches to keep rendering cheap; while paused
 * they are held and handed over on resume.
 */
export function useLogTail(client: HangarClient, query: LogsQuery, labels: LabelFilter[], paused: boolean) {
  const [lines, setLines] = useState<TailLine[]>([]);
  const [held, setHeld] = useState(0);
  const [status, setStatus] = useState<TailStatus>({ kind: 'connecting' });
  const pending = useRef<TailLine[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const depKey = JSON.stringify([query, labels]);

  useEffect(() => {
    const ctrl = new AbortController();
    pending.current = [];
    setLines([]);
    setHeld(0);
    setStatus({ kind: 'connecting' });
    let seq = 0;
    let connectedAt: string | null = null;
    const open = async (lastEventId: string | null) => {
      const q: LogsQuery = { ...query };
      // Before any event there is no id to resume after: resume from when the tail first connected.
      if (lastEventId === null && connectedAt !== null && q.start === undefined) q.start = connectedAt;
      connectedAt ??= new Date().toISOString();
      const res = await client.http.raw('POST', '/v1/serverless/logs/stream', {
        query: { ...q },
        body: labels,
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === null ? {} : { 'last-event-id': lastEventId }),
        },
        signal: ctrl.signal,
      });
      if (!res.body) throw new Error('The log stream has no body');
      setStatus({ kind: 'live' });
      return res.body;
    };
    const timer = setInterval(() => {
      if (pending.current.length === 0) return;
      if (pausedRef.current) {
        setHeld(pending.current.length);
        return;
      }
      const batch = pending.current;
      pending.current = [];
      setHeld(0);
      setLines((old) => {
        const next = old.concat(batch);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    }, FLUSH_MS);
    (async () => {
      try {
        const events = reconnectingSse(open, {
          signal: ctrl.signal,
          finite: query.end !== undefined,
          maxRetries: 1000,
          onReconnect: ({ attempt }) => setStatus({ kind: 'reconnecting', attempt }),
        });
        for await (const ev of events) {
          if (ev.data === '') continue;
          const entry = JSON.parse(ev.data) as LogEntry;
          pending.current.push({ ...entry, key: ev.id ?? `n${seq++}` });
        }
        if (!ctrl.signal.aborted) setStatus({ kind: 'ended' });
      } catch (error) {
        if (!ctrl.signal.aborted) setStatus({ kind: 'error', error });
      }
    })();
    return () => {
      ctrl.abort();
      clearInterval(timer);
    };
  }, [client, depKey]);

  const clear = () => setLines([]);
  return { lines, held, status, clear };
}
