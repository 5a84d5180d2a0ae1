import type { LogLine } from '@hangar/core';
import type { LabelCondition, LogFilter } from './filter.js';

/** The run source of a line: its `run_source` label, else `gateway` for gateway lines, else `grpc-register`. */
export function runSourceOf(labels: Readonly<Record<string, string>>): string {
  return labels.run_source ?? (labels.source === 'gateway' ? 'gateway' : 'grpc-register');
}

function label(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

function matchesLabel(labels: Readonly<Record<string, string>>, c: LabelCondition): boolean {
  const v = label(labels, c.key);
  switch (c.op) {
    case 'eq':
      return v === c.values[0];
    case 'in':
      return v !== undefined && c.values.includes(v);
    case 'ne':
      return v !== c.values[0];
    case 'nin':
      return v === undefined || !c.values.includes(v);
  }
}

/** `value` with ASCII letters lower-cased only, as SQLite's `lower()` folds (non-ASCII keeps its case). */
export function asciiLower(value: string): string {
  return /[A-Z]/.test(value) ? value.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : value;
}

/**
 * Compiles a filter into a predicate over live lines with exactly the semantics of the SQL in
 * `queries.ts` (the owner is checked by the caller). Cheap checks come first.
 */
export function compileLogMatcher(f: LogFilter): (line: LogLine) => boolean {
  const apps = f.apps ? new Set(f.apps) : null;
  const levels = f.levels ? new Set(f.levels) : null;
  // Search folds ASCII letters only, as the stored search does (SQLite's `instr(lower(…))`), so a stream's
  // live lines match exactly what its backfill and the history would.
  const needle = f.search === null ? null : asciiLower(f.search);
  return (line) => {
    if (line.ts < f.start || line.ts >= f.end) return false;
    if (apps && !apps.has(line.app)) return false;
    if (levels && !levels.has(line.level)) return false;
    if (f.revision !== null && line.revision !== f.revision) return false;
    const l = line.labels;
    if (f.requestId !== null && label(l, 'fal_request_id') !== f.requestId) return false;
    if (f.jobId !== null && label(l, 'fal_job_id') !== f.jobId) return false;
    if (!f.traceback && label(l, 'traceback') === 'true') return false;
    if (f.runSource !== null && runSourceOf(l) !== f.runSource) return false;
    for (const c of f.labels) if (!matchesLabel(l, c)) return false;
    return needle === null || asciiLower(line.message).includes(needle);
  };
}
