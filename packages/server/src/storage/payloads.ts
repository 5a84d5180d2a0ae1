import {
  type FileStore,
  isOpened,
  JsonText,
  type PayloadObjects,
  PayloadPart,
  type PayloadRowStore,
  type RequestRecord,
  type RequestStore,
  type StoredResult,
  StoreUnavailable,
} from '@hangar/core';

/** The two objects a request may have: its input (raw body, `json_input`) and its output (result, `json_output`). */
export type PayloadObject = 'input' | 'output';

/** Where a request's payload object lives: `payloads/<owner>/<request id>/input|output`. */
export function payloadKey(owner: string, requestId: string, which: PayloadObject): string {
  return `payloads/${owner}/${requestId}/${which}`;
}

const INPUT_PARTS = PayloadPart.input | PayloadPart.jsonInput;
const OUTPUT_PARTS = PayloadPart.result | PayloadPart.jsonOutput;
const HOUR_MS = 3_600_000;
/** Object deletions in flight at once during a purge. */
const DELETE_CONCURRENCY = 8;

/** What the payload store needs. */
export interface PayloadStoreDeps {
  rows: PayloadRowStore;
  objects: FileStore;
  /** Payloads larger than this many bytes become objects (`limits.payload_store_bytes`). */
  thresholdBytes: number;
  logger: { warn(obj: object, msg: string): void };
  /** An object this young is never taken for an orphan: its row may still be on its way (default 1 h). */
  orphanMinAgeMs?: number;
  /** How often a purge also sweeps orphaned objects (default 1 h; the first purge always does). */
  orphanSweepMs?: number;
}

/** A RequestStore keeping large payloads as objects; `flush` waits for results still being written. */
export interface PayloadStore extends RequestStore {
  flush(): Promise<void>;
  /** Removes payload objects no row points at (left by a crash between an object and its row). */
  sweepOrphans(now: number): Promise<number>;
}

/**
 * Wraps the request rows so payloads above the threshold live in the object store and rows stay small.
 * A queued request's input is written before its row (an outage fails the submit with
 * `STORAGE_UNAVAILABLE`, nothing recorded); a large result is written before its completion is recorded,
 * and kept in the row when the store fails, so a request always completes. Reads fetch objects back.
 */
export function createPayloadStore(deps: PayloadStoreDeps): PayloadStore {
  const { rows, objects, logger } = deps;
  const threshold = deps.thresholdBytes;
  const minAge = deps.orphanMinAgeMs ?? HOUR_MS;
  const sweepEvery = deps.orphanSweepMs ?? HOUR_MS;
  /** Completions waiting for their output object; reads and later writes of the request wait for them. */
  const pending = new Map<string, Promise<void>>();
  let lastSweep = Number.NEGATIVE_INFINITY;

  const settled = (id: string) => pending.get(id);
  const after = (id: string, write: () => void | Promise<void>): void => {
    const before = pending.get(id);
    const done = (before ? before.then(write) : Promise.resolve().then(write))
      .catch((err: unknown) => logger.warn({ err, requestId: id }, 'recording a request failed'))
      .finally(() => {
        if (pending.get(id) === done) pending.delete(id);
      });
    pending.set(id, done);
  };
  const put = (key: string, bytes: Buffer) => objects.put(key, once(bytes), {});

  async function insert(rec: RequestRecord, raw: Buffer): Promise<void> {
    const bigInput = raw.length > threshold;
    const jsonIn = largeText(rec.jsonInput, rec.storeIo, threshold);
    const jsonOut = largeText(rec.jsonOutput, rec.storeIo, threshold);
    if (!bigInput && !jsonIn && !jsonOut) return rows.insert(rec, raw);
    const written: string[] = [];
    let parts = 0;
    const inputKey = payloadKey(rec.owner, rec.requestId, 'input');
    if (bigInput) {
      // An accepted request is never lost: without its input object nothing is recorded (503).
      await put(inputKey, raw);
      written.push(inputKey);
      parts |= PayloadPart.input;
      // The same bytes serve json_input (a body that is not plain UTF-8 keeps its text in the row).
      if (jsonIn?.equals(raw)) parts |= PayloadPart.jsonInput;
    } else if (jsonIn && (await tryPut(inputKey, jsonIn, rec.requestId))) {
      written.push(inputKey);
      parts |= PayloadPart.jsonInput;
    }
    const outputKey = payloadKey(rec.owner, rec.requestId, 'output');
    if (jsonOut && (await tryPut(outputKey, jsonOut, rec.requestId))) {
      written.push(outputKey);
      parts |= PayloadPart.jsonOutput;
    }
    try {
      await rows.insert(rec, raw, parts);
    } catch (err) {
      for (const key of written) await objects.delete(key).catch(() => false);
      throw err;
    }
  }

  /** Writes an object a recording can do without: on failure the payload stays in the row. */
  async function tryPut(key: string, bytes: Buffer, requestId: string): Promise<boolean> {
    try {
      await put(key, bytes);
      return true;
    } catch (err) {
      logger.warn(
        { err, requestId },
        'a payload could not be written to the object storage; kept in the database',
      );
      return false;
    }
  }

  function complete(
    id: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    expiresAt: number,
  ): void {
    const bigResult = result !== null && result.body.length > threshold;
    const jsonOut = largeText(patch.jsonOutput, true, threshold);
    if (!bigResult && !jsonOut) {
      if (pending.has(id)) after(id, () => rows.complete(id, patch, result, expiresAt));
      else rows.complete(id, patch, result, expiresAt);
      return;
    }
    after(id, () => completeWithObject(id, patch, result, expiresAt, jsonOut));
  }

  async function completeWithObject(
    id: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    expiresAt: number,
    jsonOut: Buffer | null,
  ): Promise<void> {
    const owner = (await rows.payloadObjects(id))?.owner;
    let parts: number = PayloadPart.jsonOutput;
    let bytes = jsonOut;
    if (result && result.body.length > threshold) {
      bytes = result.body;
      // json_output is the result's text: one object serves both (else json_output stays in the row).
      parts = jsonOut?.equals(result.body) ? OUTPUT_PARTS : PayloadPart.result;
    }
    // The request completes all the same when the object cannot be written: it stays in the row.
    if (owner !== undefined && bytes && (await tryPut(payloadKey(owner, id, 'output'), bytes, id))) {
      rows.complete(id, patch, result, expiresAt, parts);
    } else rows.complete(id, patch, result, expiresAt);
  }

  async function readObject(owner: string, id: string, which: PayloadObject): Promise<Buffer | null> {
    const opened = await objects.open(payloadKey(owner, id, which));
    if (!isOpened(opened)) return null;
    const chunks: Uint8Array[] = [];
    for await (const chunk of opened.body) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async function getResult(id: string): Promise<StoredResult | null> {
    await settled(id);
    const result = await rows.getResult(id);
    if (!result || result.body.length > 0) return result;
    const refs = await rows.payloadObjects(id);
    if (!refs || (refs.parts & PayloadPart.result) === 0) return result;
    const body = await readObject(refs.owner, id, 'output');
    return body ? { ...result, body } : null;
  }

  async function getInput(id: string): Promise<Buffer | null> {
    await settled(id);
    const raw = await rows.getInput(id);
    if (raw) return raw;
    const refs = await rows.payloadObjects(id);
    if (!refs || (refs.parts & PayloadPart.input) === 0) return raw;
    return readObject(refs.owner, id, 'input');
  }

  /** Deletes the objects an expired result leaves unreferenced (json payloads keep theirs). */
  async function deleteExpired(e: PayloadObjects): Promise<void> {
    if (e.parts & PayloadPart.input && !(e.parts & PayloadPart.jsonInput)) {
      await objects.delete(payloadKey(e.owner, e.requestId, 'input'));
    }
    if (e.parts & PayloadPart.result && !(e.parts & PayloadPart.jsonOutput)) {
      await objects.delete(payloadKey(e.owner, e.requestId, 'output'));
    }
  }

  async function purgeResults(now: number): Promise<number> {
    const expired = await rows.expiredPayloadObjects(now);
    try {
      for (let i = 0; i < expired.length; i += DELETE_CONCURRENCY) {
        await Promise.all(expired.slice(i, i + DELETE_CONCURRENCY).map(deleteExpired));
      }
    } catch (err) {
      // Rows keep their references (expired results are never served), so the next purge deletes them.
      if (err instanceof StoreUnavailable) {
        logger.warn({ err }, 'expired payload objects could not be deleted; retrying at the next purge');
        return 0;
      }
      throw err;
    }
    const n = await rows.purgeResults(now);
    if (now - lastSweep >= sweepEvery) {
      lastSweep = now;
      await sweepOrphans(now).catch((err: unknown) =>
        logger.warn({ err }, 'sweeping orphaned payload objects failed'),
      );
    }
    return n;
  }

  async function sweepOrphans(now: number): Promise<number> {
    const orphans: string[] = [];
    for await (const info of objects.list('payloads/')) {
      if (now - info.modifiedAt < minAge) continue;
      const [, owner, id, which] = info.key.split('/');
      if (id === undefined || pending.has(id)) continue;
      const mask = which === 'input' ? INPUT_PARTS : which === 'output' ? OUTPUT_PARTS : 0;
      const refs = await rows.payloadObjects(id);
      if (refs && refs.owner === owner && (refs.parts & mask) !== 0) continue;
      orphans.push(info.key);
    }
    for (const key of orphans) await objects.delete(key);
    return orphans.length;
  }

  return {
    insert,
    update(id, patch) {
      // Updates carry no payloads (starts, late starts); they only wait for a completion in flight.
      if (pending.has(id)) after(id, () => rows.update(id, patch));
      else rows.update(id, patch);
    },
    complete,
    async get(id) {
      await settled(id);
      return rows.get(id);
    },
    getResult,
    getInput,
    listUnfinished: (opts) => rows.listUnfinished(opts),
    purgeResults,
    sweepOrphans,
    async flush() {
      while (pending.size > 0) await Promise.all(pending.values());
    },
  };
}

/** A recorded payload's UTF-8 bytes when larger than `threshold`, else null (kept in the row). */
function largeText(value: unknown, storeIo: boolean, threshold: number): Buffer | null {
  if (!storeIo || value === undefined || value === null) return null;
  const text = value instanceof JsonText ? value.text : JSON.stringify(value);
  // A JS string never takes more than 3 UTF-8 bytes per UTF-16 unit.
  if (text === undefined || text.length * 3 <= threshold) return null;
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length > threshold ? bytes : null;
}

/** One buffer as the byte stream `FileStore.put` takes (the adapter writes it in parts as needed). */
async function* once(bytes: Buffer): AsyncIterable<Uint8Array> {
  yield bytes;
}
