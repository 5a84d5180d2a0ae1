import {
  MINUTE_MS,
  QuantileSketch,
  type RequestRecord,
  type RollupCounts,
  type RollupRow,
} from '@hangar/core';

export type { RollupCounts, RollupRow } from '@hangar/core';

/** The fields of a completed request that its rollup needs (a `RequestRecord` fits). */
export type RollupInput = Pick<
  RequestRecord,
  | 'endpointId'
  | 'endedAt'
  | 'statusCode'
  | 'prepareMs'
  | 'durationMs'
  | 'coldStart'
  | 'coldBootMs'
  | 'errorClass'
>;

/** The count columns, in table order. */
export const COUNT_COLUMNS = [
  'request_count',
  'success_count',
  'user_error_count',
  'error_count',
  'startup_error_count',
  'connection_error_count',
  'timeout_error_count',
  'runtime_error_count',
  'cold_boot_count',
  'duration_sum_ms',
] as const satisfies readonly (keyof RollupCounts)[];

/** A cell with every count at zero. */
export function zeroCounts(): RollupCounts {
  return {
    request_count: 0,
    success_count: 0,
    user_error_count: 0,
    error_count: 0,
    startup_error_count: 0,
    connection_error_count: 0,
    timeout_error_count: 0,
    runtime_error_count: 0,
    cold_boot_count: 0,
    duration_sum_ms: 0,
  };
}

/** The sketch columns (milliseconds), in table order. */
export const SKETCH_COLUMNS = ['prepare_sketch', 'duration_sketch', 'cold_boot_sketch'] as const;
export type SketchColumn = (typeof SKETCH_COLUMNS)[number];

/** A request is a cold boot (fal: "startup time > 1 second") when it started a runner that took over 1 s. */
export const COLD_BOOT_THRESHOLD_MS = 1000;

/** Mutable accumulation of one cell: counts plus sketches, created on first use. */
export class Cell {
  readonly counts: RollupCounts = zeroCounts();
  readonly sketches: Partial<Record<SketchColumn, QuantileSketch>> = {};

  sketch(col: SketchColumn): QuantileSketch {
    let s = this.sketches[col];
    if (!s) {
      s = new QuantileSketch();
      this.sketches[col] = s;
    }
    return s;
  }

  observe(rec: RollupInput): void {
    const c = this.counts;
    c.request_count++;
    const code = rec.statusCode ?? 0;
    if (code >= 200 && code < 300) c.success_count++;
    else if (code >= 400 && code < 500) c.user_error_count++;
    else if (code >= 500 && code < 600) c.error_count++;
    // fal's analytics has no start-timeout column: a start deadline that passed counts as a timeout.
    if (rec.errorClass) c[`${rec.errorClass === 'start_timeout' ? 'timeout' : rec.errorClass}_error_count`]++;
    if (rec.prepareMs !== null) this.sketch('prepare_sketch').add(rec.prepareMs);
    if (rec.durationMs !== null) {
      this.sketch('duration_sketch').add(rec.durationMs);
      c.duration_sum_ms += rec.durationMs;
    }
    if (rec.coldStart && rec.coldBootMs !== null && rec.coldBootMs > COLD_BOOT_THRESHOLD_MS) {
      c.cold_boot_count++;
      this.sketch('cold_boot_sketch').add(rec.coldBootMs);
    }
  }

  /** Adds a stored or drained row's counts and sketches. */
  absorb(row: RollupCounts & Partial<Record<SketchColumn, Uint8Array | null>>): void {
    for (const col of COUNT_COLUMNS) this.counts[col] += row[col];
    for (const col of SKETCH_COLUMNS) {
      const buf = row[col];
      if (buf && buf.length > 2) this.sketch(col).mergeEncoded(buf);
    }
  }

  encoded(col: SketchColumn): Buffer | null {
    const s = this.sketches[col];
    return s && s.count > 0 ? s.encode() : null;
  }
}

/**
 * Per (endpoint, minute) rollups of completed requests, kept in memory until `drain`; drained rows go to
 * the stores' `RollupSink`, which merges them into what is already stored.
 */
export class RequestRollup {
  private cells = new Map<string, { endpointId: string; minute: number; cell: Cell }>();

  /** Folds a completed request into its minute (the minute it ended); unfinished requests are ignored. */
  observe(rec: RollupInput): void {
    if (rec.endedAt === null) return;
    const minute = rec.endedAt - (rec.endedAt % MINUTE_MS);
    const key = `${rec.endpointId}\u0000${minute}`;
    let entry = this.cells.get(key);
    if (!entry) {
      entry = { endpointId: rec.endpointId, minute, cell: new Cell() };
      this.cells.set(key, entry);
    }
    entry.cell.observe(rec);
  }

  /** Cells observed since the last drain. */
  get pending(): number {
    return this.cells.size;
  }

  /** Returns every accumulated cell as a row and forgets them. */
  drain(): RollupRow[] {
    const rows: RollupRow[] = [];
    for (const { endpointId, minute, cell } of this.cells.values()) {
      rows.push({
        endpoint_id: endpointId,
        minute,
        ...cell.counts,
        prepare_sketch: cell.encoded('prepare_sketch'),
        duration_sketch: cell.encoded('duration_sketch'),
        cold_boot_sketch: cell.encoded('cold_boot_sketch'),
      });
    }
    this.cells.clear();
    return rows;
  }
}
