import type { RollupRow, RollupSink } from '@hangar/core';

/**
 * Analytics rollups kept as drained. Nothing is ever left to rebuild: a crash that could lose undrained
 * rollups loses the memory stores' requests with them.
 */
export function createMemoryRollups(rows: RollupRow[]): RollupSink {
  return {
    record: (drained) => void rows.push(...drained.map((r) => ({ ...r }))),
    rebuildRecent: async () => 0,
  };
}
