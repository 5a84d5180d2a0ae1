import {
  type Clock,
  PlatformError,
  type RequestRecord,
  type RequestStore,
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
}

/** Requests in process memory (tests, demos); the semantics match the SQLite adapter. */
export class MemoryRequestStore implements RequestStore {
  private readonly rows = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly jsonCap: number,
  ) {}

  async insert(rec: RequestRecord, rawInput: Buffer): Promise<void> {
    if (this.rows.has(rec.requestId)) throw new PlatformError('STORE_WRITE_FAILED');
    this.rows.set(rec.requestId, {
      rec: { ...rec, jsonInput: null, jsonOutput: null },
      jsonInput: encodePayload(rec.jsonInput, rec.storeIo, this.jsonCap),
      jsonOutput: encodePayload(rec.jsonOutput, rec.storeIo, this.jsonCap),
      rawInput,
      result: null,
      resultExpires: null,
    });
  }

  update(requestId: string, patch: Partial<RequestRecord>): void {
    const e = this.rows.get(requestId);
    if (e) this.applyPatch(e, patch);
  }

  complete(
    requestId: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    resultExpiresAt: number,
  ): void {
    const e = this.rows.get(requestId);
    if (!e) return;
    this.applyPatch(e, patch);
    e.rec.status = 'COMPLETED';
    e.result = result && { ...result };
    e.resultExpires = resultExpiresAt;
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

  async listUnfinished(): Promise<RequestRecord[]> {
    const open = [...this.rows.values()].filter((e) => e.rec.status !== 'COMPLETED');
    return open.sort((a, b) => a.rec.sentAt - b.rec.sentAt).map(toRecord);
  }

  async purgeResults(now: number): Promise<number> {
    let n = 0;
    for (const e of this.rows.values()) {
      if (e.resultExpires === null || e.resultExpires >= now) continue;
      if (e.result === null && e.rawInput === null) continue;
      e.result = null;
      e.rawInput = null;
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
