import { JsonText, type RequestRecord, type RequestStore } from '@hangar/core';

/** Masks text of one owner (the secret service's `mask`). */
export type OwnerMask = (owner: string, text: string) => string;

/** Masks every string (and object key) of a recorded JSON value; unchanged values are returned as they are. */
export function maskRecordedValue(value: unknown, mask: (text: string) => string): unknown {
  if (value instanceof JsonText) {
    if (mask(value.text) === value.text) return value;
    return new JsonText(JSON.stringify(maskRecordedValue(JSON.parse(value.text), mask)));
  }
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((v) => maskRecordedValue(v, mask));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[mask(k)] = maskRecordedValue(v, mask);
    return out;
  }
  return value;
}

/**
 * Wraps the request store so the recorded `json_input` and `json_output` (kept for the requests listing
 * as long as the row) hold no value of the owner's secrets. The raw input and the stored result, which
 * are the caller's own request and answer and expire with `result_ttl_s`, pass unchanged. A request's
 * owner is learnt when it is inserted or listed for resumption; a completion of an unknown one records
 * no `json_output` rather than risk one.
 */
export function maskRecordedPayloads(store: RequestStore, mask: OwnerMask): RequestStore {
  const owners = new Map<string, string>();
  const patchFor = (requestId: string, patch: Partial<RequestRecord>): Partial<RequestRecord> => {
    const hasIn = patch.jsonInput !== undefined && patch.jsonInput !== null;
    const hasOut = patch.jsonOutput !== undefined && patch.jsonOutput !== null;
    if (!hasIn && !hasOut) return patch;
    const owner = owners.get(requestId);
    const masked = { ...patch };
    const m = owner === undefined ? null : (text: string) => mask(owner, text);
    if (hasIn) masked.jsonInput = m ? maskRecordedValue(patch.jsonInput, m) : null;
    if (hasOut) masked.jsonOutput = m ? maskRecordedValue(patch.jsonOutput, m) : null;
    return masked;
  };
  return {
    insert(rec, rawInput) {
      owners.set(rec.requestId, rec.owner);
      const masked = { ...rec, ...patchFor(rec.requestId, rec) } as RequestRecord;
      if (rec.status === 'COMPLETED') owners.delete(rec.requestId);
      return store.insert(masked, rawInput);
    },
    update: (requestId, patch) => store.update(requestId, patchFor(requestId, patch)),
    complete(requestId, patch, result, expiresAt) {
      const masked = patchFor(requestId, patch);
      owners.delete(requestId);
      store.complete(requestId, masked, result, expiresAt);
    },
    get: (id) => store.get(id),
    getResult: (id) => store.getResult(id),
    getInput: (id) => store.getInput(id),
    async listUnfinished(opts) {
      const recs = await store.listUnfinished(opts);
      for (const rec of recs) owners.set(rec.requestId, rec.owner);
      return recs;
    },
    purgeResults: (now) => store.purgeResults(now),
  };
}
