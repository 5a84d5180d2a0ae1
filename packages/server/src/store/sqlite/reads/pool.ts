import type Database from 'better-sqlite3';
import { openReadOnly } from '../open.js';
import { loadRegistry, replyError, runQuery } from './dispatch.js';
import type { QueryRegistry } from './statements.js';
import { WorkerQueryPool } from './worker-pool.js';

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
  /**
   * Longest a call may take once its worker is up, in ms; 0 (default) waits for ever. A call past it fails
   * with QUERY_TIMEOUT and its worker, stuck in a synchronous query, is terminated and replaced.
   */
  timeoutMs?: number;
  /** Told once per worker that died, got stuck or sent an unreadable answer (its calls already failed). */
  onWorkerFailure?: (failure: QueryWorkerFailure) => void;
}

/** Why a query worker was replaced, and how many calls failed with it. */
export interface QueryWorkerFailure {
  reason: string;
  failedCalls: number;
  cause?: unknown;
}

/** Runs named read queries on read-only connections, off the gateway's thread. */
export interface QueryPool {
  run<T>(name: string, params: unknown): Promise<T>;
  /** Rejects pending calls (SERVER_SHUTTING_DOWN) and stops the workers. */
  close(): Promise<void>;
}

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const DEFAULT_MODULES = [new URL(`./registry${EXT}`, import.meta.url).href];

/** Creates the pool; `size: 0` opens one read-only connection on this thread instead of workers. */
export function createQueryPool(opts: QueryPoolOptions): QueryPool {
  const modules = (opts.modules ?? DEFAULT_MODULES).map((m) => String(m));
  return opts.size > 0 ? new WorkerQueryPool(opts, modules) : inlinePool(opts.dbPath, modules);
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
