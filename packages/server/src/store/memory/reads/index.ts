import { type PlatformReads, serializePage } from '@hangar/core';
import { analyticsPage } from './analytics.js';
import { createMemoryAppReads } from './apps.js';
import { createMemoryLogReads } from './logs.js';
import { requestsPage } from './requests.js';
import type { MemoryReadTables } from './tables.js';
import { usagePage } from './usage.js';

export { createMemoryRollups } from './rollups.js';
export type { MemoryReadTables } from './tables.js';

/**
 * Every Platform API read over the memory stores' own collections, in plain TypeScript with the rules of
 * the SQLite reads (one contract suite proves them alike). Each read scans what it needs once: linear in
 * the stored rows, plus sorting what matches.
 */
export function createMemoryReads(t: MemoryReadTables): PlatformReads {
  return {
    requestsPage: async (p) => requestsPage(t, p),
    analyticsPage: async (p) => serializePage(analyticsPage(t, p)),
    usagePage: async (p) => serializePage(usagePage(t, p)),
    logs: createMemoryLogReads(t),
    apps: createMemoryAppReads(t),
  };
}
