import {
  type Clock,
  type PayloadObjects,
  PayloadPart,
  type PayloadRowStore,
  type RequestRecord,
  type StoredResult,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { encodePayload } from '../payload.js';
import { REQUEST_COLUMNS, type RequestRow, rowToRequestRecord } from './rows.js';
import type { SqliteWriter } from './writer.js';

/** How a patch field maps to SQL: 0 plain value, 1 boolean as 0/1, 2 payload JSON (kept only with store_io). */
type Kind = 0 | 1 | 2;

const PATCH_COLUMNS: Record<string, readonly [string, Kind]> = {
  owner: ['owner', 0],
  app: ['app', 0],
  endpointId: ['endpoint_id', 0],
  callerKeyId: ['caller_key_id', 0],
  method: ['method', 0],
  mode: ['mode', 0],
  status: ['status', 0],
  cancelled: ['cancelled', 1],
  priority: ['priority', 0],
  sentAt: ['sent_at', 0],
  startedAt: ['started_at', 0],
  endedAt: ['ended_at', 0],
  statusCode: ['status_code', 0],
  prepareMs: ['prepare_ms', 0],
  durationMs: ['duration_ms', 0],
  runnerId: ['runner_id', 0],
  coldStart: ['cold_start', 1],
  coldBootMs: ['cold_boot_ms', 0],
  billableUnits: ['billable_units', 0],
  errorClass: ['error_class', 0],
  attempts: ['attempts', 0],
  storeIo: ['store_io', 1],
  jsonInput: ['json_input', 2],
  jsonOutput: ['json_output', 2],
  timeoutS: ['timeout_s', 0],
  webhookUrl: ['webhook_url', 0],
};

const INSERT_SQL = `INSERT INTO requests (${REQUEST_COLUMNS}, raw_input, payload_objects)
  VALUES (${new Array(29).fill('?').join(', ')})`;

const COMPLETE_SUFFIX =
  "status = 'COMPLETED', result_status = ?, result_type = ?, result_body = ?, result_headers = ?, " +
  'result_expires = ?, payload_objects = payload_objects | ?';

/** Object references dropped with an expired result: the raw input and the result body. */
const EXPIRING_PARTS = PayloadPart.input | PayloadPart.result;

/**
 * Requests on SQLite. Writes go through the batched writer; a read waits for the batch holding the
 * writes queued before it, so it observes them without forcing a commit of its own.
 */
export class SqliteRequestStore implements PayloadRowStore {
  private readonly insertStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly resultStmt: Database.Statement;
  private readonly inputStmt: Database.Statement;
  private readonly unfinishedStmt: Database.Statement;
  private readonly purgeStmt: Database.Statement;
  private readonly objectsStmt: Database.Statement;
  private readonly expiredObjectsStmt: Database.Statement;
  private readonly patchStmts = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly writer: SqliteWriter,
    private readonly clock: Clock,
    private readonly jsonCap: number,
  ) {
    this.insertStmt = db.prepare(INSERT_SQL);
    this.getStmt = db.prepare(`SELECT ${REQUEST_COLUMNS} FROM requests WHERE request_id = ?`);
    this.resultStmt = db.prepare(
      'SELECT result_status, result_type, result_body, result_headers, result_expires, payload_objects FROM requests WHERE request_id = ?',
    );
    this.inputStmt = db.prepare('SELECT raw_input FROM requests WHERE request_id = ?');
    this.unfinishedStmt = db.prepare(
      `SELECT ${REQUEST_COLUMNS} FROM requests WHERE status <> 'COMPLETED' ORDER BY sent_at, rowid`,
    );
    // A purged row leaves the expiry index (result_expires NULL), so each purge visits new expiries only.
    this.purgeStmt = db.prepare(
      `UPDATE requests SET result_body = NULL, raw_input = NULL, result_expires = NULL,
        payload_objects = payload_objects & ~${EXPIRING_PARTS} WHERE result_expires < ?`,
    );
    this.objectsStmt = db.prepare(
      'SELECT request_id, owner, payload_objects FROM requests WHERE request_id = ?',
    );
    this.expiredObjectsStmt = db.prepare(
      `SELECT request_id, owner, payload_objects FROM requests INDEXED BY requests_result_expires
        WHERE result_expires < ? AND payload_objects & ${EXPIRING_PARTS} <> 0`,
    );
  }

  insert(rec: RequestRecord, rawInput: Buffer, parts = 0): Promise<void> {
    const cap = this.jsonCap;
    const params = [
      rec.requestId,
      rec.owner,
      rec.app,
      rec.endpointId,
      rec.callerKeyId,
      rec.method,
      rec.mode,
      rec.status,
      rec.cancelled ? 1 : 0,
      rec.priority,
      rec.sentAt,
      rec.startedAt,
      rec.endedAt,
      rec.statusCode,
      rec.prepareMs,
      rec.durationMs,
      rec.runnerId,
      rec.coldStart ? 1 : 0,
      rec.coldBootMs,
      rec.billableUnits,
      rec.errorClass,
      rec.attempts,
      rec.storeIo ? 1 : 0,
      parts & PayloadPart.jsonInput ? null : encodePayload(rec.jsonInput, rec.storeIo, cap),
      parts & PayloadPart.jsonOutput ? null : encodePayload(rec.jsonOutput, rec.storeIo, cap),
      rec.timeoutS,
      rec.webhookUrl,
      parts & PayloadPart.input ? null : rawInput,
      parts,
    ];
    // Resolves with the changed-row count, which callers of a Promise<void> ignore: no extra promise.
    return this.writer.enqueueAwait(this.insertStmt, params) as Promise<unknown> as Promise<void>;
  }

  update(requestId: string, patch: Partial<RequestRecord>): void {
    const params: unknown[] = [];
    const stmt = this.patchStatement(patch, params, false);
    if (!stmt) return;
    params.push(requestId);
    this.writer.enqueue(stmt, params);
  }

  complete(
    requestId: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    resultExpiresAt: number,
    parts = 0,
  ): void {
    const params: unknown[] = [];
    const fields = parts & PayloadPart.jsonOutput ? { ...patch, jsonOutput: null } : patch;
    const stmt = this.patchStatement(fields, params, true)!;
    const headers = result?.headers ? JSON.stringify(result.headers) : null;
    const body = parts & PayloadPart.result ? null : (result?.body ?? null);
    params.push(result?.statusCode ?? null, result?.contentType ?? null, body, headers);
    params.push(resultExpiresAt, parts, requestId);
    this.writer.enqueue(stmt, params);
  }

  async get(requestId: string): Promise<RequestRecord | null> {
    await this.writer.settled();
    const row = this.getStmt.get(requestId) as RequestRow | undefined;
    return row ? rowToRequestRecord(row) : null;
  }

  async getResult(requestId: string): Promise<StoredResult | null> {
    await this.writer.settled();
    const row = this.resultStmt.get(requestId) as
      | {
          result_status: number | null;
          result_type: string | null;
          result_body: Buffer | null;
          result_headers: string | null;
          result_expires: number | null;
          payload_objects: number;
        }
      | undefined;
    if (!row || row.result_status === null) return null;
    const inObject = (row.payload_objects & PayloadPart.result) !== 0;
    if (row.result_body === null && !inObject) return null;
    if (row.result_expires !== null && row.result_expires < this.clock()) return null;
    const result: StoredResult = {
      statusCode: row.result_status,
      contentType: row.result_type ?? '',
      body: row.result_body ?? EMPTY,
    };
    if (row.result_headers !== null)
      result.headers = JSON.parse(row.result_headers) as Record<string, string>;
    return result;
  }

  async getInput(requestId: string): Promise<Buffer | null> {
    await this.writer.settled();
    const row = this.inputStmt.get(requestId) as { raw_input: Buffer | null } | undefined;
    return row?.raw_input ?? null;
  }

  async payloadObjects(requestId: string): Promise<PayloadObjects | null> {
    await this.writer.settled();
    const row = this.objectsStmt.get(requestId) as ObjectsRow | undefined;
    return row ? toPayloadObjects(row) : null;
  }

  async expiredPayloadObjects(now: number): Promise<PayloadObjects[]> {
    this.writer.commit();
    return (this.expiredObjectsStmt.all(now) as ObjectsRow[]).map(toPayloadObjects);
  }

  async listUnfinished(): Promise<RequestRecord[]> {
    this.writer.commit();
    return (this.unfinishedStmt.all() as RequestRow[]).map(rowToRequestRecord);
  }

  async purgeResults(now: number): Promise<number> {
    this.writer.commit();
    return this.purgeStmt.run(now).changes;
  }

  /** Builds (and caches by field list) the UPDATE for a patch, pushing its values onto `params`. */
  private patchStatement(
    patch: Partial<RequestRecord>,
    params: unknown[],
    complete: boolean,
  ): Database.Statement | null {
    let sig = complete ? 'c' : 'u';
    for (const key in patch) {
      const value = (patch as Record<string, unknown>)[key];
      const col = PATCH_COLUMNS[key];
      if (value === undefined || !col || (complete && key === 'status')) continue;
      sig += `,${key}`;
      params.push(
        col[1] === 1 ? (value ? 1 : 0) : col[1] === 2 ? encodePayload(value, true, this.jsonCap) : value,
      );
    }
    if (!complete && params.length === 0) return null;
    let stmt = this.patchStmts.get(sig);
    if (!stmt) {
      stmt = this.db.prepare(patchSql(sig));
      this.patchStmts.set(sig, stmt);
    }
    return stmt;
  }
}

const EMPTY = Buffer.alloc(0);

interface ObjectsRow {
  request_id: string;
  owner: string;
  payload_objects: number;
}

function toPayloadObjects(row: ObjectsRow): PayloadObjects {
  return { requestId: row.request_id, owner: row.owner, parts: row.payload_objects };
}

function patchSql(sig: string): string {
  const [mode, ...keys] = sig.split(',');
  const sets = keys.map((key) => {
    const [col, kind] = PATCH_COLUMNS[key]!;
    // A completed request stays completed: an update that arrives late (another node's start) never reopens it.
    if (col === 'status') return `status = CASE WHEN status = 'COMPLETED' THEN status ELSE ? END`;
    return kind === 2 ? `${col} = CASE WHEN store_io = 1 THEN ? ELSE NULL END` : `${col} = ?`;
  });
  if (mode === 'c') sets.push(COMPLETE_SUFFIX);
  return `UPDATE requests SET ${sets.join(', ')} WHERE request_id = ?`;
}
