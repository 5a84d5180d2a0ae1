import type { ServerResponse } from 'node:http';
import type { ErrorCode, LogLine, LogReads } from '@hangar/core';
import { lineToEntry, rowToEntry, sseError, sseFrame } from './entry.js';
import { type LogFilter, OPEN_END, OPEN_START } from './filter.js';
import { compileLogMatcher } from './match.js';
import type { MatchedLines } from './matched-lines.js';
import type { LiveSubscriber, LogStreamHub } from './stream-hub.js';

/** Limits and collaborators of one log stream. */
export interface LogStreamDeps {
  hub: LogStreamHub;
  reads: Pick<LogReads, 'after' | 'firstIdFrom'>;
  /** Commits log lines already appended, so a catch-up query sees every line published before it. */
  flushLogs: () => Promise<void>;
  now: () => number;
  /** A client whose socket holds more unsent bytes than this is dropped with an `error` event. */
  maxBufferedBytes: number;
  /** How long a dropped client may take to read up to its `error` event before its socket is destroyed. */
  dropGraceMs: number;
  /** Live lines held while the catch-up query runs; more drops the stream. */
  maxPendingLines: number;
  /** Rows per backfill query. */
  pageSize: number;
  /** After `end`, how long lines stamped before it may still arrive before the stream closes. */
  endGraceMs: number;
}

type Phase = 'backfill' | 'catchup' | 'live' | 'closed';

/** One SSE connection: backfill from the store, then live lines from the hub, deduplicated by id. */
export class LogStream implements LiveSubscriber {
  readonly owner: string;
  readonly filterKey: string;
  readonly match: (line: LogLine) => boolean;
  private phase: Phase = 'backfill';
  private lastId = 0;
  private pending: LogLine[] = [];
  private cleanups: (() => void)[] = [];

  constructor(
    private readonly raw: ServerResponse,
    private readonly filter: LogFilter,
    private readonly deps: LogStreamDeps,
  ) {
    this.owner = filter.owner;
    this.filterKey = JSON.stringify(filter);
    this.match = compileLogMatcher(filter);
    raw.on('close', () => this.teardown());
  }

  /** Registers cleanup run once when the stream ends for any reason. */
  onClose(fn: () => void): void {
    if (this.phase === 'closed') fn();
    else this.cleanups.push(fn);
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  onLines(batch: MatchedLines): void {
    if (this.phase === 'catchup') {
      for (const l of batch.lines) this.pending.push(l);
      if (this.pending.length > this.deps.maxPendingLines) this.drop();
      return;
    }
    if (this.phase !== 'live') return;
    if (batch.minId === undefined || batch.minId > this.lastId) {
      // Nothing to deduplicate: the bytes every stream of this filter gets, written as they are.
      this.send(batch.frames());
      if (batch.maxId !== undefined) this.lastId = batch.maxId;
      return;
    }
    let out = '';
    for (const l of batch.lines) {
      if (l.id !== undefined && l.id <= this.lastId) continue;
      out += batch.frame(l);
      if (l.id !== undefined) this.lastId = l.id;
    }
    if (out) this.send(out);
  }

  ping(): void {
    if (this.phase !== 'closed' && this.raw.writableLength === 0) this.raw.write(': ping\n\n');
  }

  /** Runs the stream: backfill after `resumeAfter` or from `start`, then live until `end` or disconnect. */
  async run(resumeAfter: number | null): Promise<void> {
    const { filter, deps } = this;
    const finite = filter.end !== OPEN_END;
    if (resumeAfter === null && filter.start === OPEN_START) {
      this.goLive();
    } else {
      this.lastId =
        resumeAfter ?? (await deps.reads.firstIdFrom({ owner: filter.owner, start: filter.start }));
      await this.pump();
      if (this.closed) return;
      if (!finite || filter.end > deps.now()) this.phase = 'catchup';
      const detach = this.phase === 'catchup' ? deps.hub.attach(this) : null;
      if (detach) this.onClose(detach);
      await deps.flushLogs();
      await this.pump();
      if (this.closed) return;
      if (detach) this.goLive();
    }
    if (finite) this.scheduleEnd();
  }

  /** Ends the stream with an `error` event that says why. */
  fail(code: ErrorCode, message?: string): void {
    if (this.closed) return;
    this.raw.write(sseError(code, message));
    this.finish();
  }

  private goLive(): void {
    if (this.phase === 'backfill') this.onClose(this.deps.hub.attach(this));
    this.phase = 'live';
    const held = this.pending;
    this.pending = [];
    let out = '';
    for (const l of held) {
      if (l.id !== undefined && l.id <= this.lastId) continue;
      out += sseFrame(l.id, lineToEntry(l));
      if (l.id !== undefined) this.lastId = l.id;
    }
    if (out) this.send(out);
  }

  private async pump(): Promise<void> {
    const { deps, filter } = this;
    for (;;) {
      const rows = await deps.reads.after({ filter, afterId: this.lastId, limit: deps.pageSize });
      if (this.closed) return;
      let out = '';
      for (const r of rows) {
        if (r.id <= this.lastId) continue;
        out += sseFrame(r.id, rowToEntry(r));
        this.lastId = r.id;
      }
      if (out && !this.raw.write(out)) await this.drained();
      if (rows.length < deps.pageSize || this.closed) return;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.raw.off('drain', done);
        this.raw.off('close', done);
        resolve();
      };
      this.raw.on('drain', done);
      this.raw.on('close', done);
    });
  }

  private scheduleEnd(): void {
    const wait = this.filter.end - this.deps.now();
    if (wait <= 0 && this.phase !== 'live') {
      this.finish();
      return;
    }
    const timer = setTimeout(() => this.finish(), Math.max(0, wait) + this.deps.endGraceMs);
    this.onClose(() => clearTimeout(timer));
  }

  private send(chunk: string | Buffer): void {
    if (this.raw.writableLength > this.deps.maxBufferedBytes) {
      this.drop();
      return;
    }
    this.raw.write(chunk);
  }

  private drop(): void {
    this.fail('LOGS_STREAM_SLOW');
    // The client is not reading, so the error event may never flush: do not wait for it.
    const timer = setTimeout(() => this.raw.destroy(), this.deps.dropGraceMs);
    timer.unref();
  }

  private finish(): void {
    if (this.closed) return;
    this.raw.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.pending = [];
    for (const fn of this.cleanups.splice(0)) fn();
  }
}
