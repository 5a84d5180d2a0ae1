import {
  type Clock,
  type PayloadObjects,
  PayloadPart,
  type PayloadRowStore,
  PlatformError,
  type RequestRecord,
  type StoredResult,
} from '@hangar/core';
import { decodePayload, encodePayload } from '../payload.js';

/** A stored request: payloads kept as capped JSON text, exactly as the SQLite adapter stores them. */
interface Entry {
  rec: RequestRecord;
  jsonInput: string | null;
  jsonOutput: string | null;
  rawInput: Buffer | null;
  result: StoredResult | null;
  resultExpires: number | null;
  /** `PayloadPart` bits of the payloads kept as objects. */
  parts: number;
}

/** What the memory reads see of a stored request (the stored values themselves: read, never write). */
export interface MemoryRequestRow {
  readonly rec: Readonly<RequestRecord>;
  readonly jsonInput: string | null;
  readonly jsonOutput: string | null;
  /** `PayloadPart` bits of the payloads kept as objects. */
  readonly parts: number;
}

const EXPIRING_PARTS = PayloadPart.input | PayloadPart.result;
const EMPTY = Buffer.alloc(0);

/** Requests in process memory (tests, demos); the semantics match the SQLite adapter. */
export class MemoryRequestStore implements PayloadRowStore {
  private readonly rows = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly jsonCap: number,
  ) {}

  async insert(rec: RequestRecord, rawInput: Buffer, parts = 0): Promise<void> {
    if (this.rows.has(rec.requestId)) throw new PlatformError('STORE_WRITE_FAILED');
    const cap = this.jsonCap;
    this.rows.set(rec.requestId, {
      rec: { ...rec, jsonInput: null, jsonOutput: null },
      jsonInput: parts & PayloadPart.jsonInput ? null : encodePayload(rec.jsonInput, rec.storeIo, cap),
      jsonOutput: parts & PayloadPart.jsonOutput ? null : encodePayload(rec.jsonOutput, rec.storeIo, cap),
      rawInput: parts & PayloadPart.input ? null : rawInput,
      result: null,
      resultExpires: null,
      parts,
    });
  }

  update(requestId: string, patch: Partial<RequestRecord>): void {
    const e = this.rows.get(requestId);
    // A completed request stays completed: a late update never reopens it.
    if (e) this.applyPatch(e, e.rec.status === 'COMPLETED' ? { ...patch, status: 'COMPLETED' } : patch);
  }

  complete(
    requestId: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    resultExpiresAt: number,
    parts = 0,
  ): void {
    const e = this.rows.get(requestId);
    if (!e) return;
    this.applyPatch(e, parts & PayloadPart.jsonOutput ? { ...patch, jsonOutput: null } : patch);
    e.rec.status = 'COMPLETED';
    e.result = result && { ...result, body: parts & PayloadPart.result ? EMPTY : result.body };
    e.resultExpires = resultExpiresAt;
    e.parts |= parts;
  }

  async get(requestId: string): Promise<RequestRecord | null> {
    const e = this.rows.get(requestId);
    return e ? toRecord(e) : null;
  }

  async getResult(requestId: string): Promise<StoredResult | null> {
    const e = this.rows.get(requestId);
    if (!e?.result) return null;
    if (e.resultExpires !== null && e.resultExpires < this.clock()) return null;
    return { ...e.result };
  }

  async getInput(requestId: string): Promise<Buffer | null> {
    return this.rows.get(requestId)?.rawInput ?? null;
  }

  async payloadObjects(requestId: string): Promise<PayloadObjects | null> {
    const e = this.rows.get(requestId);
    return e ? { requestId, owner: e.rec.owner, parts: e.parts } : null;
  }

  async expiredPayloadObjects(now: number): Promise<PayloadObjects[]> {
    const out: PayloadObjects[] = [];
    for (const e of this.rows.values()) {
      if (e.resultExpires === null || e.resultExpires >= now || (e.parts & EXPIRING_PARTS) === 0) continue;
      out.push({ requestId: e.rec.requestId, owner: e.rec.owner, parts: e.parts });
    }
    return out;
  }

  /** Every stored request as kept, for the memory reads (which only read them). */
  readRows(): Iterable<MemoryRequestRow> {
    return this.rows.values();
  }

  async listUnfinished(): Promise<RequestRecord[]> {
    const open = [...this.rows.values()].filter((e) => e.rec.status !== 'COMPLETED');
    return open.sort((a, b) => a.rec.sentAt - b.rec.sentAt).map(toRecord);
  }

  async purgeResults(now: number): Promise<number> {
    let n = 0;
    for (const e of this.rows.values()) {
      if (e.resultExpires === null || e.resultExpires >= now) continue;
      e.result = null;
      e.rawInput = null;
      e.resultExpires = null;
      e.parts &= ~EXPIRING_PARTS;
      n++;
    }
    return n;
  }

  private applyPatch(e: Entry, patch: Partial<RequestRecord>): void {
    for (const key in patch) {
      const value = (patch as Record<string, unknown>)[key];
      if (value === undefined || key === 'requestId') continue;
      if (key === 'jsonInput') e.jsonInput = encodePayload(value, e.rec.storeIo, this.jsonCap);
      else if (key === 'jsonOutput') e.jsonOutput = encodePayload(value, e.rec.storeIo, this.jsonCap);
      else (e.rec as unknown as Record<string, unknown>)[key] = value;
    }
  }
}

function toRecord(e: Entry): RequestRecord {
  return { ...e.rec, jsonInput: decodePayload(e.jsonInput), jsonOutput: decodePayload(e.jsonOutput) };
}
