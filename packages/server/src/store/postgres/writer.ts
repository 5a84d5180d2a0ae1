import type pg from 'pg';
import { databaseUnavailable, isConnectionError } from './pool.js';

/**
 * One kind of write: runs many queued items of the kind as few statements as it can, inside the writer's
 * transaction. `ordered` kinds share one stream whose queue order is kept (requests: insert, update and
 * complete of one request); other kinds touch their own table and are merged per kind, run after the
 * ordered stream in `rank` order (log lines last: they hold the log id lock until the commit).
 */
export interface WriteKind<T> {
  readonly name: string;
  readonly ordered?: boolean;
  readonly rank?: number;
  run(client: pg.PoolClient, items: T[]): Promise<void>;
  /** Called once the transaction holding `items` committed. */
  committed?(items: T[]): void;
}

/** Where the writer reports rows it could not commit (pino-compatible). */
export interface PgWriteLogger {
  error(obj: object, msg: string): void;
}

/** Options of the writer. */
export interface PgWriterOptions {
  /** Most operations kept for retry while the database is unreachable (default 100,000); beyond, dropped. */
  maxQueued?: number;
  /** Most bytes (estimated) those operations may hold (default 256 MiB); beyond, dropped. */
  maxQueuedBytes?: number;
  /** Most operations in one transaction (default 5,000). */
  maxBatch?: number;
  logger?: PgWriteLogger;
}

interface Op {
  // biome-ignore lint/suspicious/noExplicitAny: kinds are heterogeneous; each op carries its own kind.
  kind: WriteKind<any>;
  item: unknown;
  seq: number;
  bytes: number;
  resolve?: () => void;
  reject?: (err: unknown) => void;
}

const consoleLogger: PgWriteLogger = { error: (obj, msg) => console.error(msg, obj) };

/**
 * The group-committing writer of one node: operations queued during an event-loop turn commit in one
 * transaction, one at a time, in queue order. Awaited operations (a request accepted, a key created)
 * resolve after their commit and fail with DATABASE_UNAVAILABLE when the database is unreachable, so
 * nothing is acknowledged unpersisted. Fire-and-forget operations (updates, completions, log lines,
 * metering) are kept and retried with backoff through an outage, up to `maxQueued`.
 */
export class PgWriter {
  private queue: Op[] = [];
  private seq = 0;
  private attemptedThrough = 0;
  private running = false;
  private timer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private waiters: { seq: number; resolve: () => void }[] = [];
  /** The oldest write of the batch under way. */
  private runningFrom = Number.POSITIVE_INFINITY;
  /** Operations dropped because the retry queue was full (logged as they happen). */
  dropped = 0;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  private queuedBytes = 0;
  private readonly maxBatch: number;
  private readonly logger: PgWriteLogger;

  constructor(
    private readonly pool: pg.Pool,
    opts: PgWriterOptions = {},
  ) {
    this.maxQueued = opts.maxQueued ?? 100_000;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 256 * 1024 * 1024;
    this.maxBatch = opts.maxBatch ?? 5_000;
    this.logger = opts.logger ?? consoleLogger;
  }

  /** Queues a write retried until committed (or dropped past the queue cap). */
  enqueue<T>(kind: WriteKind<T>, item: T): void {
    if (this.closed) throw new Error('the PostgreSQL writer is closed');
    const bytes = approxBytes(item, 4);
    if (this.queue.length >= this.maxQueued || this.queuedBytes + bytes > this.maxQueuedBytes) {
      this.dropped++;
      this.logger.error(
        { kind: kind.name, dropped: this.dropped },
        'database write queue full: write dropped',
      );
      return;
    }
    this.queuedBytes += bytes;
    this.queue.push({ kind, item, seq: ++this.seq, bytes });
    this.schedule();
  }

  /** Queues a write and resolves once it is committed; rejects when it cannot be. */
  enqueueAwait<T>(kind: WriteKind<T>, item: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the PostgreSQL writer is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, item, seq: ++this.seq, bytes: 0, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every write queued so far was attempted (so a read after it sees them when they committed). */
  settled(): Promise<void> {
    const seq = this.seq;
    if (this.attemptedThrough >= seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  /** Resolves once everything queued so far is committed; rejects after `timeoutMs` of failing to. */
  async flush(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const target = this.seq;
    // A batch under way matters only when it holds a write queued before the call (no starving under load).
    while (this.queue.some((op) => op.seq <= target) || (this.running && this.runningFrom <= target)) {
      if (Date.now() > deadline) throw databaseUnavailable();
      await new Promise((r) => setTimeout(r, this.running ? 1 : 20));
      if (!this.running && this.timer === null && this.queue.length > 0) this.schedule();
    }
  }

  /** Commits what it can within `timeoutMs`, then stops; writes still queued are reported as lost. */
  async close(timeoutMs = 5_000): Promise<void> {
    await this.flush(timeoutMs).catch(() => {
      this.logger.error({ lost: this.queue.length }, 'database unreachable at close: queued writes lost');
    });
    this.closed = true;
    if (this.timer) clearTimeout(this.timer as NodeJS.Timeout);
    this.timer = null;
  }

  private schedule(delayMs = 0): void {
    if (this.running || this.timer !== null || this.closed) return;
    const run = () => {
      this.timer = null;
      void this.commit();
    };
    this.timer = delayMs === 0 ? setImmediate(run) : setTimeout(run, delayMs);
  }

  private async commit(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const ops = this.queue.splice(0, this.maxBatch);
    this.runningFrom = ops.reduce((m, op) => Math.min(m, op.seq), Number.POSITIVE_INFINITY);
    for (const op of ops) this.queuedBytes -= op.bytes;
    let retry = false;
    try {
      await this.commitOps(ops);
      this.failures = 0;
    } catch (err) {
      retry = this.handleFailure(ops, err);
    } finally {
      this.running = false;
      this.attempted(ops);
    }
    if (retry) this.schedule(Math.min(2_000, 50 * 2 ** Math.min(this.failures, 6)));
    else if (this.queue.length > 0) this.schedule();
  }

  private attempted(ops: Op[]): void {
    const last = ops.reduce((m, op) => Math.max(m, op.seq), this.attemptedThrough);
    this.attemptedThrough = Math.max(this.attemptedThrough, last);
    const ready = this.waiters.filter((w) => w.seq <= this.attemptedThrough || this.queue.length === 0);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** Runs the batch; when a statement fails for its data, runs each op alone so only the culprits fail. */
  private async commitOps(ops: Op[]): Promise<void> {
    const client = await this.pool.connect();
    // A connection lost between two statements is reported by the next query; the event itself is not news.
    client.on('error', ignore);
    let broken: unknown = null;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await inTransaction(client, () => runGrouped(client, ops));
          for (const op of ops) op.resolve?.();
          notifyCommitted(ops);
          return;
        } catch (err) {
          if (isConnectionError(err)) throw err;
          // Two nodes' batches touching the same rows in another order: run the whole batch again.
          if (!isTransient(err) || attempt >= 3) break;
        }
      }
      const failed = new Map<Op, unknown>();
      await inTransaction(client, async () => {
        for (const op of inRunOrder(ops)) {
          await client.query('SAVEPOINT op');
          try {
            await op.kind.run(client, [op.item]);
            await client.query('RELEASE SAVEPOINT op');
          } catch (err) {
            if (isConnectionError(err)) throw err;
            await client.query('ROLLBACK TO SAVEPOINT op');
            failed.set(op, err);
          }
        }
      });
      const ok = ops.filter((op) => !failed.has(op));
      for (const op of ok) op.resolve?.();
      notifyCommitted(ok);
      for (const [op, err] of failed) {
        if (op.reject) op.reject(err);
        else this.logger.error({ err, kind: op.kind.name }, 'database write failed: row dropped');
      }
    } catch (err) {
      broken = err;
      throw err;
    } finally {
      client.off('error', ignore);
      client.release(broken ? (broken as Error) : undefined);
    }
  }

  /** An unreachable database: awaited ops fail (503), the others go back to the queue's head. */
  private handleFailure(ops: Op[], err: unknown): boolean {
    if (!isConnectionError(err)) {
      for (const op of ops) {
        if (op.reject) op.reject(err);
        else this.logger.error({ err, kind: op.kind.name }, 'database write failed: row dropped');
      }
      return false;
    }
    this.failures++;
    const keep: Op[] = [];
    for (const op of ops) {
      if (op.reject) op.reject(databaseUnavailable());
      else keep.push(op);
    }
    // Back at the head, in order, as far as the caps allow: the oldest writes are the ones kept.
    let room = Math.max(0, this.maxQueued - this.queue.length);
    let bytes = this.queuedBytes;
    const kept: Op[] = [];
    for (const op of keep) {
      if (room === 0 || bytes + op.bytes > this.maxQueuedBytes) break;
      kept.push(op);
      room--;
      bytes += op.bytes;
    }
    if (kept.length < keep.length) {
      this.dropped += keep.length - kept.length;
      this.logger.error({ dropped: this.dropped }, 'database write queue full: writes dropped');
    }
    this.queuedBytes = bytes;
    this.queue.unshift(...kept);
    if (this.failures === 1)
      this.logger.error({ queued: this.queue.length }, 'database unreachable: writes kept for retry');
    return keep.length > 0;
  }
}

function ignore(): void {}

/** A rough size of what an operation holds (strings, buffers, numbers), for the retry queue's byte cap. */
function approxBytes(value: unknown, depth: number): number {
  if (typeof value === 'string') return 16 + value.length;
  if (Buffer.isBuffer(value)) return 16 + value.length;
  if (value === null || typeof value !== 'object' || depth === 0) return 8;
  let n = 16;
  if (Array.isArray(value)) for (const v of value) n += approxBytes(v, depth - 1);
  else for (const v of Object.values(value)) n += 8 + approxBytes(v, depth - 1);
  return n;
}

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

async function inTransaction(client: pg.PoolClient, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The ordered stream first, in queue order; then each other kind by rank, in queue order. */
function inRunOrder(ops: Op[]): Op[] {
  const ordered = ops.filter((op) => op.kind.ordered);
  const rest = ops.filter((op) => !op.kind.ordered);
  rest.sort((a, b) => (a.kind.rank ?? 0) - (b.kind.rank ?? 0) || a.seq - b.seq);
  return [...ordered, ...rest];
}

/** Runs consecutive ops of one kind as one call of the kind. */
async function runGrouped(client: pg.PoolClient, ops: Op[]): Promise<void> {
  let run: Op[] = [];
  for (const op of inRunOrder(ops)) {
    if (run.length > 0 && run[0]!.kind !== op.kind) {
      await run[0]!.kind.run(
        client,
        run.map((o) => o.item),
      );
      run = [];
    }
    run.push(op);
  }
  if (run.length > 0)
    await run[0]!.kind.run(
      client,
      run.map((o) => o.item),
    );
}

function notifyCommitted(ops: Op[]): void {
  const byKind = new Map<WriteKind<unknown>, unknown[]>();
  for (const op of ops) {
    if (!op.kind.committed) continue;
    const items = byKind.get(op.kind) ?? [];
    items.push(op.item);
    byKind.set(op.kind, items);
  }
  for (const [kind, items] of byKind) kind.committed?.(items);
}
