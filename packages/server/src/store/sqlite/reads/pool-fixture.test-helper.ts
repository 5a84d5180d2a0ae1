import { readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { PlatformError } from '@hangar/core';
import type Database from 'better-sqlite3';
import type { QueryRegistry } from './statements.js';

// Extra queries the pool test loads next to the real registry.

export const queries = {
  echo: (_db: Database.Database, params: { value: unknown }) => ({ value: params.value, threadId }),
  refuse: () => {
    throw new PlatformError('REQUEST_INVALID', 'refused by the query');
  },
  crash: () => process.exit(3),
  /** An array nested `depth` deep, built without recursion. */
  deep: (_db: Database.Database, params: { depth: number }) => {
    let value: unknown[] = [];
    for (let i = 1; i < params.depth; i++) value = [value];
    return value;
  },
  /** Keeps the thread busy for `ms` (a query stuck in synchronous work). */
  spin: (_db: Database.Database, params: { ms: number }) => {
    const end = Date.now() + params.ms;
    while (Date.now() < end) {
      // busy
    }
    return 'done';
  },
  /** The calling thread's nice value as the kernel reports it (field 19 of /proc/thread-self/stat). */
  nice: () => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[16]),
  write: (db: Database.Database) =>
    db.prepare("INSERT INTO owners (name, created_at) VALUES ('mallory', 0)").run(),
} satisfies QueryRegistry;
