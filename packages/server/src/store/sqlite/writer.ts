import { PlatformError } from '@hangar/core';
import type Database from 'better-sqlite3';

/** Something the writer can execute with one array of bound parameters (a statement or a composite). */
export interface Runnable {
  run(params: unknown[]): { changes: number };
}

/** Where the writer reports rows it could not commit (pino-compatible). */
export interface WriteErrorLogger {
  error(obj: object, msg: string): void;
}

export interface WriterOptions {
  /**
   * 0 commits on the next `setImmediate`; more commits at most once per that many ms (a group commit),
   * though a write after a quiet spell still commits on the next turn.
   */
  flushIntervalMs?: number;
  /** Commit synchronously once this many rows are queued, bounding memory and batch latency. */
  maxPending?: number;
  logger?: WriteErrorLogger;
}

interface Waiter {
  index: number;
  changes: number;
  resolve: (changes: number) => void;
  reject: (err: unknown) => void;
}

const consoleLogger: WriteErrorLogger = { error: (obj, msg) => console.error(msg, obj) };

/**
 * The single writer of a SQLite database: queued rows are committed in one transaction per tick (or per
 * `flushIntervalMs`, a group commit) with reused prepared statements, in queue order. Awaited rows
 * resolve after the commit that holds them.
 */
export class SqliteWriter {
  private runs: Runnable[] = [];
  private params: unknown[][] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private closed = false;
  private lastCommitAt = 0;
  /** Resolves when the batch now being gathered is committed (created on the first `settled` call). */
  private batchDone: Promise<void> | null = null;
  private resolveBatch: (() => void) | null = null;
  private readonly intervalMs: number;
  private readonly maxPending: number;
  private readonly logger: WriteErrorLogger;
  private readonly commitBatch: (runs: Runnable[], params: unknown[][], waiters: Waiter[]) => void;
  private readonly tick = () => {
    this.scheduled = false;
    this.commit();
  };

  constructor(db: Database.Database, opts: WriterOptions = {}) {
    this.intervalMs = opts.flushIntervalMs ?? 0;
    this.maxPending = opts.maxPending ?? 5000;
    this.logger = opts.logger ?? consoleLogger;
    this.commitBatch = db.transaction((runs: Runnable[], params: unknown[][], waiters: Waiter[]) => {
      let w = 0;
      for (let i = 0; i < runs.length; i++) {
        const { changes } = runs[i]!.run(params[i]!);
        if (waiters[w]?.index === i) waiters[w++]!.changes = changes;
      }
    });
  }

  /** Rows queued and not yet committed. */
  get pending(): number {
    return this.runs.length;
  }

  /** Queues one row write; failures are logged, never thrown to the caller. */
  enqueue(run: Runnable, params: unknown[]): void {
    if (this.closed) {
      this.logger.error({ key: params[0] }, 'store write after close dropped');
      return;
    }
    this.runs.push(run);
    this.params.push(params);
    this.schedule();
  }

  /** Queues one row write and resolves with its changed-row count once committed. */
  enqueueAwait(run: Runnable, params: unknown[]): Promise<number> {
    if (this.closed) return Promise.reject(new PlatformError('SERVER_SHUTTING_DOWN'));
    return new Promise<number>((resolve, reject) => {
      this.waiters.push({ index: this.runs.length, changes: 0, resolve, reject });
      this.runs.push(run);
      this.params.push(params);
      this.schedule();
    });
  }

  /**
   * Resolves once every row queued so far is committed, without forcing a commit: reads that must see
   * earlier writes wait for the next scheduled batch instead of each committing a tiny one.
   */
  settled(): Promise<void> {
    if (this.runs.length === 0) return Promise.resolve();
    this.batchDone ??= new Promise<void>((resolve) => {
      this.resolveBatch = resolve;
    });
    return this.batchDone;
  }

  /** Commits everything queued, synchronously. */
  commit(): void {
    if (this.runs.length === 0) return;
    const runs = this.runs;
    const params = this.params;
    const waiters = this.waiters;
    const resolveBatch = this.resolveBatch;
    this.runs = [];
    this.params = [];
    this.waiters = [];
    this.batchDone = null;
    this.resolveBatch = null;
    this.lastCommitAt = Date.now();
    try {
      this.commitBatch(runs, params, waiters);
    } catch (err) {
      this.logger.error({ err, rows: runs.length }, 'store batch failed; retrying row by row');
      this.commitEach(runs, params, waiters);
      resolveBatch?.();
      return;
    }
    for (const w of waiters) w.resolve(w.changes);
    resolveBatch?.();
  }

  /** Commits everything queued. */
  flush(): Promise<void> {
    this.commit();
    return Promise.resolve();
  }

  /** Commits what is queued and refuses further writes. */
  close(): void {
    this.commit();
    this.closed = true;
  }

  private schedule(): void {
    if (this.runs.length >= this.maxPending) {
      this.commit();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Group commit: at most one commit per interval under load, but a write after a quiet spell is
    // committed on the next turn instead of waiting out a whole interval.
    const wait = this.intervalMs > 0 ? this.lastCommitAt + this.intervalMs - Date.now() : 0;
    if (wait > 0) setTimeout(this.tick, wait);
    else setImmediate(this.tick);
  }

  /** After a failed batch: each row in its own transaction, so one bad row rejects only itself. */
  private commitEach(runs: Runnable[], params: unknown[][], waiters: Waiter[]): void {
    let w = 0;
    for (let i = 0; i < runs.length; i++) {
      const waiter = waiters[w]?.index === i ? waiters[w++] : undefined;
      try {
        const { changes } = runs[i]!.run(params[i]!);
        waiter?.resolve(changes);
      } catch (err) {
        this.logger.error({ err, key: params[i]![0] }, 'store row write failed');
        if (waiter) waiter.reject(Object.assign(new PlatformError('STORE_WRITE_FAILED'), { cause: err }));
      }
    }
  }
}
