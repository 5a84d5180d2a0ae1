import {
  type Clock,
  type PayloadObjects,
  PayloadPart,
  type PayloadRowStore,
  type RequestRecord,
  type StoredResult,
  type UnfinishedFilter,
} from '@hangar/core';
import type pg from 'pg';
import { REQUEST_COLUMNS, type RequestRow, rowToRequestRecord } from '../sqlite/rows.js';
import { read } from './pool.js';
import { completion, insertItem, insertKind, patchItem, patchKind } from './request-writes.js';
import type { PgWriter } from './writer.js';

/** Object references dropped with an expired result: the raw input and the result body. */
const EXPIRING_PARTS = PayloadPart.input | PayloadPart.result;

interface ObjectsRow {
  request_id: string;
  owner: string;
  payload_objects: number;
}

/**
 * Requests on PostgreSQL. `insert` resolves once its row is committed (group-committed with the other
 * inserts of the turn); updates and completions are batched in queue order. A read first waits for the
 * writes this node queued before it.
 */
export class PostgresRequestStore implements PayloadRowStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
    private readonly clock: Clock,
    private readonly jsonCap: number,
  ) {}

  insert(rec: RequestRecord, rawInput: Buffer, parts = 0): Promise<void> {
    return this.writer.enqueueAwait(insertKind, insertItem(rec, rawInput, parts, this.jsonCap));
  }

  update(requestId: string, patch: Partial<RequestRecord>): void {
    const item = patchItem(requestId, patch, this.jsonCap, null);
    if (item) this.writer.enqueue(patchKind, item);
  }

  complete(
    requestId: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    resultExpiresAt: number,
    parts = 0,
  ): void {
    const fields = parts & PayloadPart.jsonOutput ? { ...patch, jsonOutput: null } : patch;
    const item = patchItem(requestId, fields, this.jsonCap, completion(result, resultExpiresAt, parts));
    if (item) this.writer.enqueue(patchKind, item);
  }

  async get(requestId: string): Promise<RequestRecord | null> {
    const row = await this.one<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM requests WHERE request_id = $1`, [
      requestId,
    ]);
    return row ? rowToRequestRecord(row) : null;
  }

  async getResult(requestId: string): Promise<StoredResult | null> {
    const row = await this.one<{
      result_status: number | null;
      result_type: string | null;
      result_body: Buffer | null;
      result_headers: string | null;
      result_expires: number | null;
      payload_objects: number;
    }>(
      `SELECT result_status, result_type, result_body, result_headers, result_expires, payload_objects
       FROM requests WHERE request_id = $1`,
      [requestId],
    );
    if (!row || row.result_status === null) return null;
    const inObject = (row.payload_objects & PayloadPart.result) !== 0;
    if (row.result_body === null && !inObject) return null;
    if (row.result_expires !== null && row.result_expires < this.clock()) return null;
    const result: StoredResult = {
      statusCode: row.result_status,
      contentType: row.result_type ?? '',
      body: row.result_body ?? Buffer.alloc(0),
    };
    if (row.result_headers !== null)
      result.headers = JSON.parse(row.result_headers) as Record<string, string>;
    return result;
  }

  async getInput(requestId: string): Promise<Buffer | null> {
    const row = await this.one<{ raw_input: Buffer | null }>(
      'SELECT raw_input FROM requests WHERE request_id = $1',
      [requestId],
    );
    return row?.raw_input ?? null;
  }

  async payloadObjects(requestId: string): Promise<PayloadObjects | null> {
    const row = await this.one<ObjectsRow>(
      'SELECT request_id, owner, payload_objects FROM requests WHERE request_id = $1',
      [requestId],
    );
    return row ? toPayloadObjects(row) : null;
  }

  async expiredPayloadObjects(now: number): Promise<PayloadObjects[]> {
    const rows = await this.all<ObjectsRow>(
      `SELECT request_id, owner, payload_objects FROM requests
       WHERE result_expires < $1 AND payload_objects & ${EXPIRING_PARTS} <> 0`,
      [now],
    );
    return rows.map(toPayloadObjects);
  }

  async listUnfinished(opts: UnfinishedFilter = {}): Promise<RequestRecord[]> {
    const byNode = opts.acceptedBy !== undefined;
    const rows = await this.all<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM requests WHERE status <> 'COMPLETED'${byNode ? ' AND node_id = $1' : ''}
        ORDER BY sent_at, request_id`,
      byNode ? [opts.acceptedBy] : [],
    );
    return rows.map(rowToRequestRecord);
  }

  async purgeResults(now: number): Promise<number> {
    await this.writer.settled();
    // A purged row leaves the expiry index (result_expires NULL), so each purge visits new expiries only.
    const res = await read(() =>
      this.pool.query(
        `UPDATE requests SET result_body = NULL, raw_input = NULL, result_expires = NULL,
           payload_objects = payload_objects & ~${EXPIRING_PARTS} WHERE result_expires < $1`,
        [now],
      ),
    );
    return res.rowCount ?? 0;
  }

  private async one<T>(text: string, params: unknown[]): Promise<T | null> {
    return (await this.all<T>(text, params))[0] ?? null;
  }

  private async all<T>(text: string, params: unknown[]): Promise<T[]> {
    await this.writer.settled();
    return read(async () => (await this.pool.query(text, params)).rows as T[]);
  }
}

function toPayloadObjects(row: ObjectsRow): PayloadObjects {
  return { requestId: row.request_id, owner: row.owner, parts: row.payload_objects };
}
