import { ERRORS, type ErrorCode, PlatformError } from '@hangar/core';
import type Database from 'better-sqlite3';
import type { QueryFn, QueryRegistry } from './statements.js';

/** A call sent to a query worker. */
export interface WorkerRequest {
  id: number;
  name: string;
  params: unknown;
}

/** The id of the message a worker sends once it has opened its connection and loaded its queries. */
export const READY_ID = -1;

/** A worker's answer: the result, or an error carrying a PlatformError code when it had one. */
export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; code: ErrorCode | null; message: string; stack?: string };

/** Imports each module and merges their `queries` exports (later modules win on a name clash). */
export async function loadRegistry(modules: readonly string[]): Promise<QueryRegistry> {
  const merged: Record<string, QueryFn<never, unknown>> = {};
  for (const url of modules) {
    const mod = (await import(url)) as { queries?: QueryRegistry };
    if (!mod.queries) throw new Error(`query module ${url} has no "queries" export`);
    Object.assign(merged, mod.queries);
  }
  return merged;
}

/** Runs one call synchronously and packages the outcome for the wire. */
export function runQuery(db: Database.Database, registry: QueryRegistry, msg: WorkerRequest): WorkerReply {
  try {
    const fn = registry[msg.name] as QueryFn<unknown, unknown> | undefined;
    if (!fn) throw new Error(`unknown query "${msg.name}"`);
    return { id: msg.id, ok: true, result: fn(db, msg.params) };
  } catch (err) {
    if (err instanceof PlatformError) return { id: msg.id, ok: false, code: err.code, message: err.message };
    const e = err instanceof Error ? err : new Error(String(err));
    return { id: msg.id, ok: false, code: null, message: e.message, stack: e.stack };
  }
}

/** Turns a failed reply back into the error the query threw (a PlatformError when it was one). */
export function replyError(reply: Extract<WorkerReply, { ok: false }>): Error {
  if (reply.code && reply.code in ERRORS) return new PlatformError(reply.code, reply.message);
  const err = new Error(`query failed: ${reply.message}`);
  if (reply.stack) err.stack = reply.stack;
  return err;
}
