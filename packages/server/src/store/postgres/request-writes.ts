import { PayloadPart, type RequestRecord, type StoredResult } from '@hangar/core';
import type pg from 'pg';
import { encodePayload } from '../payload.js';
import type { WriteKind } from './writer.js';

// The request writes as set-based statements: every queued insert of a batch in one INSERT, every queued
// update and completion in one UPDATE, each over unnest() of one array per column.

/** A patchable column: its SQL name, array type and how a value is stored (0 plain, 1 flag, 2 payload JSON). */
type Column = readonly [key: keyof RequestRecord, column: string, type: string, kind: 0 | 1 | 2];

const PATCH: readonly Column[] = [
  ['owner', 'owner', 'text', 0],
  ['app', 'app', 'text', 0],
  ['endpointId', 'endpoint_id', 'text', 0],
  ['callerKeyId', 'caller_key_id', 'text', 0],
  ['method', 'method', 'text', 0],
  ['mode', 'mode', 'text', 0],
  ['status', 'status', 'text', 0],
  ['cancelled', 'cancelled', 'int', 1],
  ['priority', 'priority', 'text', 0],
  ['sentAt', 'sent_at', 'float8', 0],
  ['startedAt', 'started_at', 'float8', 0],
  ['endedAt', 'ended_at', 'float8', 0],
  ['statusCode', 'status_code', 'int', 0],
  ['prepareMs', 'prepare_ms', 'float8', 0],
  ['durationMs', 'duration_ms', 'float8', 0],
  ['runnerId', 'runner_id', 'text', 0],
  ['coldStart', 'cold_start', 'int', 1],
  ['coldBootMs', 'cold_boot_ms', 'float8', 0],
  ['billableUnits', 'billable_units', 'float8', 0],
  ['errorClass', 'error_class', 'text', 0],
  ['attempts', 'attempts', 'int', 0],
  ['storeIo', 'store_io', 'int', 1],
  ['jsonInput', 'json_input', 'text', 2],
  ['jsonOutput', 'json_output', 'text', 2],
  ['timeoutS', 'timeout_s', 'float8', 0],
  ['webhookUrl', 'webhook_url', 'text', 0],
];
const STATUS_BIT = 2 ** PATCH.findIndex((c) => c[0] === 'status');

/** One queued insert: the row's values in `INSERT_COLUMNS` order. */
export type InsertItem = unknown[];

const INSERT_TYPES = [...PATCH.map((c) => c[2]), 'bytea', 'int'];
const INSERT_SQL = `INSERT INTO requests (request_id, ${PATCH.map((c) => c[1]).join(', ')}, raw_input, payload_objects)
  SELECT * FROM unnest($1::text[], ${INSERT_TYPES.map((t, i) => `$${i + 2}::${t}[]`).join(', ')})
  ON CONFLICT DO NOTHING RETURNING request_id`;

/** Builds the values of an insert (payload parts already in the object store are stored as NULL). */
export function insertItem(rec: RequestRecord, rawInput: Buffer, parts: number, jsonCap: number): InsertItem {
  const values: unknown[] = [rec.requestId];
  for (const [key, , , kind] of PATCH) {
    const v = rec[key];
    if (kind === 1) values.push(v ? 1 : 0);
    else if (kind === 2) {
      const part = key === 'jsonInput' ? PayloadPart.jsonInput : PayloadPart.jsonOutput;
      values.push(parts & part ? null : encodePayload(v, rec.storeIo, jsonCap));
    } else values.push(v ?? null);
  }
  values.push(parts & PayloadPart.input ? null : rawInput, parts);
  return values;
}

/** Request inserts; an id already recorded fails its insert (and only it: the writer isolates it). */
export const insertKind: WriteKind<InsertItem> = {
  name: 'requests.insert',
  ordered: true,
  async run(client, items) {
    const res = await client.query(INSERT_SQL, columns(items, INSERT_TYPES.length + 1));
    if (res.rowCount !== items.length) throw new Error('a request with this id is already recorded');
  },
};

/** One queued update or completion of a request. */
export interface PatchItem {
  requestId: string;
  /** Bit i set: column PATCH[i] is written with values[i]. */
  mask: number;
  values: unknown[];
  complete: {
    resultStatus: number | null;
    resultType: string | null;
    resultBody: Buffer | null;
    resultHeaders: string | null;
    resultExpires: number;
    parts: number;
  } | null;
}

/** Builds a patch; a completion ignores `status` (it sets COMPLETED). */
export function patchItem(
  requestId: string,
  patch: Partial<RequestRecord>,
  jsonCap: number,
  complete: PatchItem['complete'],
): PatchItem | null {
  const item: PatchItem = { requestId, mask: 0, values: new Array(PATCH.length).fill(null), complete };
  PATCH.forEach(([key, , , kind], i) => {
    const v = patch[key];
    if (v === undefined || (complete && key === 'status')) return;
    item.mask |= 2 ** i;
    item.values[i] = kind === 1 ? (v ? 1 : 0) : kind === 2 ? encodePayload(v, true, jsonCap) : v;
  });
  return item.mask === 0 && !complete ? null : item;
}

/** Builds the completion part of a patch item. */
export function completion(
  result: StoredResult | null,
  expires: number,
  parts: number,
): PatchItem['complete'] {
  return {
    resultStatus: result?.statusCode ?? null,
    resultType: result?.contentType ?? null,
    resultBody: parts & PayloadPart.result ? null : (result?.body ?? null),
    resultHeaders: result?.headers ? JSON.stringify(result.headers) : null,
    resultExpires: expires,
    parts,
  };
}

const n = PATCH.length;
const done = `v.done`;
const PATCH_SQL = `UPDATE requests r SET
  ${PATCH.map(([, col, , kind], i) => {
    const value = kind === 2 ? `CASE WHEN r.store_io = 1 THEN v.c${i} ELSE NULL END` : `v.c${i}`;
    const set = `CASE WHEN v.mask & ${2 ** i} <> 0 THEN ${value} ELSE r.${col} END`;
    return col === 'status'
      ? `status = CASE WHEN ${done} OR r.status = 'COMPLETED' THEN 'COMPLETED' ELSE ${set} END`
      : `${col} = ${set}`;
  }).join(',\n  ')},
  result_status = CASE WHEN ${done} THEN v.rs ELSE r.result_status END,
  result_type = CASE WHEN ${done} THEN v.rt ELSE r.result_type END,
  result_body = CASE WHEN ${done} THEN v.rb ELSE r.result_body END,
  result_headers = CASE WHEN ${done} THEN v.rh ELSE r.result_headers END,
  result_expires = CASE WHEN ${done} THEN v.re ELSE r.result_expires END,
  payload_objects = CASE WHEN ${done} THEN r.payload_objects | v.parts ELSE r.payload_objects END
FROM unnest($1::text[], $2::bigint[], ${PATCH.map((c, i) => `$${i + 3}::${c[2]}[]`).join(', ')},
  $${n + 3}::boolean[], $${n + 4}::int[], $${n + 5}::text[], $${n + 6}::bytea[], $${n + 7}::text[],
  $${n + 8}::float8[], $${n + 9}::int[])
  AS v(id, mask, ${PATCH.map((_, i) => `c${i}`).join(', ')}, done, rs, rt, rb, rh, re, parts)
WHERE r.request_id = v.id`;

/**
 * Request updates and completions, in queue order: patches of one request fold into one row (later
 * values win, as they would applied one after the other); a patch after that request's completion starts
 * a new statement, so nothing overtakes a completion.
 */
export const patchKind: WriteKind<PatchItem> = {
  name: 'requests.patch',
  ordered: true,
  async run(client, items) {
    let rows = new Map<string, PatchItem>();
    for (const item of items) {
      const prev = rows.get(item.requestId);
      if (prev?.complete) {
        await runPatches(client, [...rows.values()]);
        rows = new Map();
      }
      const into = rows.get(item.requestId);
      rows.set(item.requestId, into ? fold(into, item) : { ...item, values: [...item.values] });
    }
    await runPatches(client, [...rows.values()]);
  },
};

function fold(into: PatchItem, next: PatchItem): PatchItem {
  for (let i = 0; i < PATCH.length; i++) if (next.mask & (2 ** i)) into.values[i] = next.values[i];
  into.mask |= next.mask;
  if (next.complete) {
    into.complete = next.complete;
    into.mask &= ~STATUS_BIT;
  }
  return into;
}

async function runPatches(client: pg.PoolClient, rows: PatchItem[]): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[][] = [rows.map((r) => r.requestId), rows.map((r) => r.mask)];
  for (let i = 0; i < PATCH.length; i++) params.push(rows.map((r) => r.values[i]));
  params.push(
    rows.map((r) => r.complete !== null),
    rows.map((r) => r.complete?.resultStatus ?? null),
    rows.map((r) => r.complete?.resultType ?? null),
    rows.map((r) => r.complete?.resultBody ?? null),
    rows.map((r) => r.complete?.resultHeaders ?? null),
    rows.map((r) => r.complete?.resultExpires ?? null),
    rows.map((r) => r.complete?.parts ?? 0),
  );
  await client.query(PATCH_SQL, params);
}

/** Transposes rows into one array per column. */
export function columns(items: unknown[][], width: number): unknown[][] {
  const out: unknown[][] = Array.from({ length: width }, () => new Array(items.length));
  items.forEach((row, r) => {
    for (let c = 0; c < width; c++) out[c]![r] = row[c] ?? null;
  });
  return out;
}
