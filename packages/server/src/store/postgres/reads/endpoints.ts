import type { EndpointSelector } from '@hangar/core';
import { C, rows, type SqlClient } from './sql.js';

const TABLES = { requests: 'requests', request_rollups: 'request_rollups' } as const;

/**
 * Distinct endpoint ids of a table that are `prefix` itself or start with `prefix/`, by a loose index scan
 * (a recursive CTE seeking the next id: one index probe per distinct id, not one step per row).
 */
export async function distinctEndpoints(
  db: SqlClient,
  table: keyof typeof TABLES,
  prefix?: string,
): Promise<string[]> {
  const t = TABLES[table];
  // '/' + 1 is '0': [prefix/, prefix0) holds exactly the ids under prefix/.
  const lo = prefix === undefined ? '' : `${prefix}/`;
  const hi = prefix === undefined ? '\u{10FFFF}' : `${prefix}0`;
  const sql = `WITH RECURSIVE ids(id) AS (
      SELECT (SELECT min(endpoint_id ${C}) FROM ${t} WHERE endpoint_id ${C} >= $1 AND endpoint_id ${C} < $2)
      UNION ALL
      SELECT (SELECT min(endpoint_id ${C}) FROM ${t} WHERE endpoint_id ${C} > ids.id AND endpoint_id ${C} < $2)
      FROM ids WHERE ids.id IS NOT NULL)
    SELECT id FROM ids WHERE id IS NOT NULL`;
  const out: string[] = [];
  if (prefix !== undefined) {
    const exact = await rows(db, `SELECT 1 FROM ${t} WHERE endpoint_id = $1 LIMIT 1`, [prefix]);
    if (exact.length > 0) out.push(prefix);
  }
  for (const r of await rows<{ id: string }>(db, sql, [lo, hi])) out.push(r.id);
  return out;
}

/** Concrete (route-level) endpoint ids the selectors cover: bare ids expand to every recorded route. */
export async function expandEndpoints(
  db: SqlClient,
  table: keyof typeof TABLES,
  sel: readonly EndpointSelector[],
): Promise<string[]> {
  const out = new Set<string>();
  for (const s of sel) {
    out.add(s.id);
    if (s.bare) for (const id of await distinctEndpoints(db, table, s.id)) out.add(id);
  }
  return [...out];
}
