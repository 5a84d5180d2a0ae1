import type { LogLine, RequestRecord, StoredResult } from '@hangar/core';

/** Log lines kept in memory per live request; later lines are still stored, only not streamed. */
const MAX_LIVE_LOGS = 5_000;

/** A request the gateway is working on (or finished moments ago), served from memory. */
export interface LiveRequest {
  rec: RequestRecord;
  /** Owner of the submitting key (the app owner for anonymous calls): the webhook's user id. */
  userId: string;
  result: StoredResult | null;
  logs: LogLine[];
  listeners: Set<() => void>;
  finishedAt: number | null;
  /** The serialised status body (without logs) last sent, and the status it was made for. */
  statusJson: string | null;
  statusJsonOf: RequestRecord['status'] | null;
}

/**
 * In-memory registry of requests not yet finished, plus those finished within a grace period, so
 * status and result reads never race the store's batched writes.
 */
export class LiveRequests {
  private readonly map = new Map<string, LiveRequest>();
  private readonly finished: LiveRequest[] = [];
  private finishedHead = 0;
  /** Told of every change (a cluster announces status changes to the other nodes through it). */
  onNotify: ((entry: LiveRequest) => void) | null = null;

  constructor(private readonly graceMs: number) {}

  add(rec: RequestRecord, userId: string): LiveRequest {
    const entry: LiveRequest = {
      rec,
      userId,
      result: null,
      logs: [],
      listeners: new Set(),
      finishedAt: null,
      statusJson: null,
      statusJsonOf: null,
    };
    this.map.set(rec.requestId, entry);
    return entry;
  }

  get(requestId: string): LiveRequest | undefined {
    return this.map.get(requestId);
  }

  /** Entries not finished yet. */
  *pending(): Iterable<LiveRequest> {
    for (const entry of this.map.values()) if (entry.finishedAt === null) yield entry;
  }

  /** Tells everyone watching the entry (status streams) that it changed. */
  notify(entry: LiveRequest): void {
    this.onNotify?.(entry);
    for (const listener of entry.listeners) listener();
  }

  /** Marks the entry finished and schedules its removal after the grace period. */
  finish(entry: LiveRequest, result: StoredResult | null, now: number): void {
    entry.result = result;
    entry.finishedAt = now;
    this.finished.push(entry);
    this.notify(entry);
  }

  /** Drops entries finished before `now - grace`. */
  sweep(now: number): void {
    const limit = now - this.graceMs;
    while (this.finishedHead < this.finished.length) {
      const entry = this.finished[this.finishedHead]!;
      if ((entry.finishedAt ?? 0) > limit) break;
      if (this.map.get(entry.rec.requestId) === entry) this.map.delete(entry.rec.requestId);
      this.finishedHead++;
    }
    if (this.finishedHead > 1024 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }

  /** Attaches published log lines to the live requests they belong to. */
  attachLogs(lines: readonly LogLine[]): void {
    let touched: Set<LiveRequest> | null = null;
    for (const line of lines) {
      const id = line.labels['fal_request_id'];
      if (id === undefined) continue;
      const entry = this.map.get(id);
      if (!entry || entry.logs.length >= MAX_LIVE_LOGS) continue;
      entry.logs.push(line);
      touched ??= new Set();
      touched.add(entry);
    }
    if (touched) for (const entry of touched) this.notify(entry);
  }

  get size(): number {
    return this.map.size;
  }
}
