import type { LogBus, LogLine } from '@hangar/core';

/**
 * Publishing of log lines on a store that gives a line its id only when its batch commits (PostgreSQL).
 * Live streams deduplicate and resume (`Last-Event-ID`) by id, and a catch-up query must see every line
 * a stream was sent, so such a store publishes its lines once committed, with their ids, in commit order;
 * the runners' log sink, which publishes at append (right on SQLite, where append assigns the id), is
 * handed a bus whose `publish` does nothing.
 */
export interface CommittedLogs {
  /** The store's commit hook (`onLogsCommitted`). */
  committed(lines: LogLine[]): void;
  /** Starts publishing committed lines to `bus`; returns the bus for the log sink. */
  sinkBus(bus: LogBus): LogBus;
}

/** Creates the relay; lines committed before `sinkBus` is called are not published (no one listens yet). */
export function createCommittedLogs(): CommittedLogs {
  let target: LogBus | null = null;
  return {
    committed(lines) {
      target?.publish(lines);
    },
    sinkBus(bus) {
      target = bus;
      return { publish() {}, subscribe: (listener) => bus.subscribe(listener) };
    },
  };
}
