import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlatformReads, Stores } from '@hangar/core';
import { afterAll, beforeAll } from 'vitest';
import { sqliteReads, writeWorld } from '../../reads-world.test-helper.js';
import { createSqliteStores } from '../../sqlite/index.js';
import type { SqliteReads } from '../../sqlite/reads/index.js';
import { createMemoryStores } from '../index.js';

/** One world written to the memory stores and to a SQLite file: both engines' reads over it. */
export interface TwinWorld {
  /** The memory reads. */
  reads: PlatformReads;
  /** The reference: the SQLite reads, inline (no worker threads). */
  sqlite: SqliteReads;
}

/**
 * Registers, for the calling test file, one world written through the write ports of both the memory and
 * the SQLite stores (by `write`, default the reads world), so every read can be asked of both and the
 * answers compared.
 */
export function useTwinWorld(write: (s: Stores) => Promise<unknown> = writeWorld): TwinWorld {
  const w = {} as TwinWorld;
  let dir = '';
  let memory: Stores | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-memreads-'));
    const path = join(dir, 'world.db');
    const s = createSqliteStores({ path });
    try {
      await write(s);
    } finally {
      await s.close();
    }
    w.sqlite = sqliteReads(path);
    memory = createMemoryStores();
    await write(memory);
    w.reads = memory.reads;
  }, 60_000);
  afterAll(async () => {
    await w.sqlite?.pool.close();
    await memory?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return w;
}
