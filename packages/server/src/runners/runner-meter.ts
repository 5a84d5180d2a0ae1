import type { MeterRecord } from '@hangar/core';
import { type MeterBase, meterRows } from './metering.js';

/** A runner's machine time: counted from its setup, written as per-minute meter rows. */
export class RunnerMeter {
  /** When the runner's setup began (metering starts there), null before. */
  setupAt: number | null = null;
  /** Last time machine time was metered for the runner. */
  meteredUntil = 0;
  private base: MeterBase | null = null;

  /** Starts metering at `at` with the runner's fixed meter fields. */
  begin(base: MeterBase, at: number): void {
    this.setupAt = at;
    this.meteredUntil = at;
    this.base = base;
  }

  /** Machine time since the last call, as rows to (re)write; empty before setup. */
  take(until: number): MeterRecord[] {
    if (this.base === null || this.setupAt === null) return [];
    const rows = meterRows(this.base, this.setupAt, this.meteredUntil, until);
    this.meteredUntil = until;
    return rows;
  }

  /** The minutes not yet metered up to `now`, as `take` would write them; nothing is advanced. */
  peek(now: number): MeterRecord[] {
    if (this.base === null || this.setupAt === null) return [];
    return meterRows(this.base, this.setupAt, this.meteredUntil, now);
  }
}
