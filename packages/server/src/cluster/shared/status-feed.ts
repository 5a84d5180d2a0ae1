import type { Fanout, LogBus, LogLine, RequestStatusFeed } from '@hangar/core';

const RANK: Record<string, number> = { IN_QUEUE: 0, IN_PROGRESS: 1, COMPLETED: 2 };
/** Fan-out topic of one request's status changes. */
export const statusTopic = (requestId: string) => `req:${requestId}`;

/** Options of `createRequestStatusFeed`. */
export interface RequestStatusFeedOptions {
  fanout: Fanout;
  /** This node's log bus (in a cluster it carries every node's lines), for `logs=1` streams. */
  logBus: LogBus;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Status changes over the fan-out, one topic per request. The running node publishes a request's status
 * body each time its status moves (not for queue positions or new log lines); a follower sends the status
 * read from the store, then each later status once (older ones replayed from the topic are skipped), and
 * ends after COMPLETED. Event ids are the fan-out's, so `Last-Event-ID` resumes on any node.
 */
export function createRequestStatusFeed(opts: RequestStatusFeedOptions): RequestStatusFeed {
  const lastStatus = new Map<string, string>();
  return {
    changed(requestId, status, body) {
      if (lastStatus.get(requestId) === status) return;
      if (status === 'COMPLETED') lastStatus.delete(requestId);
      else lastStatus.set(requestId, status);
      Promise.resolve()
        .then(body)
        .then((b) => opts.fanout.publish(statusTopic(requestId), JSON.stringify(b)))
        .catch((err) => opts.onError?.(err, 'a status change reaches only streams on the node running it'));
    },
    follow(requestId, afterId, sink, follow) {
      let rank = -1;
      let latest: Record<string, unknown> | null = null;
      /** Lines that came while the status had no `logs` field (queued): sent with the next status. */
      let held: LogLine[] = [];
      let stopped = false;
      let unsubscribe = () => {};
      let offLogs = () => {};
      const ping = setInterval(() => sink.write(': ping\n\n'), follow.pingMs ?? 10_000);
      ping.unref();
      const stop = (end: boolean) => {
        if (stopped) return;
        stopped = true;
        clearInterval(ping);
        unsubscribe();
        offLogs();
        if (end) sink.end();
      };
      const send = (body: Record<string, unknown>, id: string | null, lines: readonly LogLine[] = []) => {
        const shown = follow.withLogs && 'logs' in body ? { ...body, logs: lines.map(follow.toLog) } : body;
        sink.write(`${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(shown)}\n\n`);
      };
      const take = (body: Record<string, unknown>, id: string | null) => {
        const r = RANK[String(body['status'])] ?? -1;
        if (r <= rank || stopped) return;
        rank = r;
        latest = body;
        const lines = 'logs' in body ? held : [];
        if (lines.length > 0) held = [];
        send(body, id, lines);
        if (r === RANK['COMPLETED']) stop(true);
      };
      if (afterId === null) take(follow.initial, null);
      if (stopped) return () => {};
      unsubscribe = opts.fanout.subscribe(statusTopic(requestId), afterId ?? '0-0', (msg) => {
        try {
          take(JSON.parse(msg.data) as Record<string, unknown>, msg.id);
        } catch {
          // A malformed entry is skipped; the next status still arrives.
        }
      });
      if (follow.withLogs) {
        offLogs = opts.logBus.subscribe((lines) => {
          const mine = lines.filter((l) => l.labels['fal_request_id'] === requestId);
          if (mine.length === 0 || stopped) return;
          if (latest && 'logs' in latest) send(latest, null, mine);
          else held.push(...mine);
        });
      }
      return () => stop(false);
    },
  };
}
