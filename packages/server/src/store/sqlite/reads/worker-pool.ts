import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PlatformError } from '@hangar/core';
import { READY_ID, replyError, type WorkerReply } from './dispatch.js';
import type { QueryPool, QueryPoolOptions } from './pool.js';

// Under vitest and tsx this module is TypeScript source: workers then need the tsx loader to run .ts.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const WORKER_URL = new URL(`./worker${EXT}`, import.meta.url);

// Node 20 applies `--import tsx` in a worker's execArgv only after it has failed to load a .ts entry, so
// a source-mode worker starts as a small script that registers tsx's hooks and then imports the entry.
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); });`;

type WorkerData = { dbPath: string; modules: string[]; nice: number };

function startWorker(workerData: WorkerData): Worker {
  if (EXT === '.js') return new Worker(WORKER_URL, { workerData });
  const tsxApi = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const data = { ...workerData, tsxApi: pathToFileURL(tsxApi).href, entry: WORKER_URL.href };
  return new Worker(TS_BOOTSTRAP, { eval: true, workerData: data });
}

interface Pending {
  name: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout | null;
}

/** One worker thread and the calls it has been sent, in the order it answers them. */
interface Slot {
  index: number;
  worker: Worker;
  pending: Map<number, Pending>;
  /** Set when the worker has opened its connection and loaded its queries. */
  ready: boolean;
  retired: boolean;
}

/** Longest wait before respawning a worker that keeps dying before it is ready. */
const MAX_RESPAWN_DELAY_MS = 5_000;

/**
 * Query worker threads. A worker that dies, sends an answer this thread cannot read, or overruns the
 * call deadline is retired: every call it holds fails at once (QUERY_WORKER_FAILED, or QUERY_TIMEOUT for
 * the call that overran), the failure is reported once, and a new worker takes its place.
 */
export class WorkerQueryPool implements QueryPool {
  private readonly slots: (Slot | null)[];
  /** Per slot: workers in a row that died before they were ready. */
  private readonly startFailures: number[];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly data: WorkerData;
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly opts: QueryPoolOptions,
    modules: string[],
  ) {
    this.data = { dbPath: opts.dbPath, modules, nice: opts.nice ?? 0 };
    this.slots = Array.from({ length: opts.size }, () => null);
    this.startFailures = Array.from({ length: opts.size }, () => 0);
    for (let i = 0; i < opts.size; i++) this.spawn(i);
  }

  run<T>(name: string, params: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new PlatformError('SERVER_SHUTTING_DOWN'));
    const slot = this.leastBusy();
    // Every worker is waiting to be respawned after failing to start: answer now rather than wait.
    if (!slot) return Promise.reject(new PlatformError('QUERY_WORKER_FAILED'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const call: Pending = { name, resolve: resolve as (v: unknown) => void, reject, timer: null };
      slot.pending.set(id, call);
      if (slot.ready) this.arm(slot, id, call);
      slot.worker.postMessage({ id, name, params });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.respawns) clearTimeout(t);
    const live = this.slots.filter((s): s is Slot => s !== null);
    for (const slot of live) this.retire(slot, 'pool closed');
    await Promise.all(live.map((s) => s.worker.terminate()));
  }

  private leastBusy(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) if (s && (!best || s.pending.size < best.pending.size)) best = s;
    return best;
  }

  private spawn(index: number): void {
    const worker = startWorker(this.data);
    const slot: Slot = { index, worker, pending: new Map(), ready: false, retired: false };
    worker.on('message', (reply: WorkerReply) => this.answer(slot, reply));
    // An answer this thread cannot deserialise (nested past its stack, say) would leave its call
    // waiting for good: that counts as the worker failing.
    worker.on('messageerror', (err) => this.retire(slot, 'answer could not be read', err));
    worker.on('error', (err) => this.retire(slot, 'uncaught error', err));
    worker.on('exit', (code) => this.retire(slot, `exited with code ${code}`));
    this.slots[index] = slot;
  }

  private answer(slot: Slot, reply: WorkerReply): void {
    if (reply.id === READY_ID) {
      slot.ready = true;
      this.startFailures[slot.index] = 0;
      for (const [id, call] of slot.pending) this.arm(slot, id, call);
      return;
    }
    const call = slot.pending.get(reply.id);
    if (!call) return;
    slot.pending.delete(reply.id);
    if (call.timer) clearTimeout(call.timer);
    if (reply.ok) call.resolve(reply.result);
    else call.reject(replyError(reply));
  }

  /** Starts a call's deadline; it counts from when its worker is ready, so start-up is not charged to it. */
  private arm(slot: Slot, id: number, call: Pending): void {
    const ms = this.opts.timeoutMs ?? 0;
    if (ms <= 0) return;
    call.timer = setTimeout(() => this.retire(slot, `call "${call.name}" exceeded ${ms} ms`, null, id), ms);
    call.timer.unref();
  }

  /** Fails every call the worker holds, reports the failure once, and puts a new worker in its place. */
  private retire(slot: Slot, reason: string, cause?: unknown, timedOut?: number): void {
    if (slot.retired) return;
    slot.retired = true;
    if (this.slots[slot.index] === slot) this.slots[slot.index] = null;
    const failedCalls = slot.pending.size;
    for (const [id, call] of slot.pending) {
      if (call.timer) clearTimeout(call.timer);
      const code = this.closed
        ? 'SERVER_SHUTTING_DOWN'
        : id === timedOut
          ? 'QUERY_TIMEOUT'
          : 'QUERY_WORKER_FAILED';
      call.reject(new PlatformError(code));
    }
    slot.pending.clear();
    // A worker stuck in a query is stopped here (a SQLite statement already running finishes first).
    slot.worker.terminate().catch(() => undefined);
    if (this.closed) return;
    this.opts.onWorkerFailure?.({ reason, failedCalls, cause });
    this.respawn(slot);
  }

  /**
   * Replaces a retired worker at once, unless workers keep dying before they are ready (the database
   * is gone, a module fails to load): then after a delay doubling up to MAX_RESPAWN_DELAY_MS.
   */
  private respawn(slot: Slot): void {
    const i = slot.index;
    const failures = slot.ready ? 0 : (this.startFailures[i] ?? 0) + 1;
    this.startFailures[i] = failures;
    if (failures <= 1) {
      this.spawn(i);
      return;
    }
    const t = setTimeout(
      () => {
        this.respawns.delete(t);
        if (!this.closed) this.spawn(i);
      },
      Math.min(MAX_RESPAWN_DELAY_MS, 50 * 2 ** failures),
    );
    t.unref();
    this.respawns.add(t);
  }
}
