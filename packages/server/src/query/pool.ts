import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { openReadOnly } from '../store/sqlite/open.js';
import { loadRegistry, replyError, runQuery, type WorkerReply } from './dispatch.js';
import type { QueryRegistry } from './statements.js';

/** Options of `createQueryPool`. */
export interface QueryPoolOptions {
  /** The SQLite file (it must exist: the store creates and migrates it). */
  dbPath: string;
  /** Worker threads; 0 runs queries inline on the calling thread (tests, small tools). */
  size: number;
  /** Module URLs whose `queries` export is merged into the registry (default: this folder's registry). */
  modules?: readonly (string | URL)[];
  /**
   * Nice value (0–19) each worker thread gives itself, so queries yield the CPU to the gateway's thread
   * when both want it (Linux schedules threads individually; elsewhere it is ignored). Default 0.
   */
  nice?: number;
}

/** Runs named read queries on read-only connections, off the gateway's thread. */
export interface QueryPool {
  run<T>(name: string, params: unknown): Promise<T>;
  /** Rejects queued calls and stops the workers. */
  close(): Promise<void>;
}

// Under vitest and tsx this module is TypeScript source: workers then need the tsx loader to run .ts.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const WORKER_URL = new URL(`./worker${EXT}`, import.meta.url);
const DEFAULT_MODULES = [new URL(`./registry${EXT}`, import.meta.url).href];

// Node 20 applies `--import tsx` in a worker's execArgv only after it has failed to load a .ts entry, so
// a source-mode worker starts as a small script that registers tsx's hooks and then imports the entry.
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); });`;

function startWorker(workerData: { dbPath: string; modules: string[]; nice: number }): Worker {
  if (EXT === '.js') return new Worker(WORKER_URL, { workerData });
  const tsxApi = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const data = { ...workerData, tsxApi: pathToFileURL(tsxApi).href, entry: WORKER_URL.href };
  return new Worker(TS_BOOTSTRAP, { eval: true, workerData: data });
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** Creates the pool; `size: 0` opens one read-only connection on this thread instead of workers. */
export function createQueryPool(opts: QueryPoolOptions): QueryPool {
  const modules = (opts.modules ?? DEFAULT_MODULES).map((m) => String(m));
  return opts.size > 0
    ? workerPool(opts.dbPath, opts.size, modules, opts.nice ?? 0)
    : inlinePool(opts.dbPath, modules);
}

function inlinePool(dbPath: string, modules: string[]): QueryPool {
  let db: Database.Database | null = null;
  let registry: Promise<QueryRegistry> | null = null;
  let nextId = 0;
  return {
    async run<T>(name: string, params: unknown): Promise<T> {
      registry ??= loadRegistry(modules);
      const reg = await registry;
      db ??= openReadOnly(dbPath);
      // A structured clone keeps inline runs honest: the same params and results as through a worker.
      const reply = runQuery(db, reg, { id: nextId++, name, params: structuredClone(params) });
      if (!reply.ok) throw replyError(reply);
      return structuredClone(reply.result) as T;
    },
    async close() {
      db?.close();
      db = null;
    },
  };
}

function workerPool(dbPath: string, size: number, modules: string[], nice: number): QueryPool {
  const slots: Slot[] = [];
  let nextId = 0;
  let closed = false;

  const spawn = (index: number): void => {
    const worker = startWorker({ dbPath, modules, nice });
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(replyError(reply));
    });
    const fail = (err: unknown) => {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      // A crashed worker is replaced so one poisonous query cannot shrink the pool for good.
      if (!closed && slots[index] === slot) spawn(index);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`query worker exited with code ${code}`)));
    slots[index] = slot;
  };
  for (let i = 0; i < size; i++) spawn(i);

  return {
    run<T>(name: string, params: unknown): Promise<T> {
      if (closed) return Promise.reject(new Error('query pool is closed'));
      const slot = slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        slot.worker.postMessage({ id, name, params });
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
