import { Readable } from 'node:stream';
import { type FileStore, isOpened, type OpenedObject, type PayloadAt } from '@hangar/core';
import { payloadKey } from './payloads.js';

/**
 * A listing page body with the payloads kept as objects spliced in at their offsets, streamed one object
 * after another so a page of large payloads never sits in memory whole. The first object is opened
 * before anything is sent, so an unreachable store answers 503 `STORAGE_UNAVAILABLE`; an object found
 * missing (deleted behind Hangar's back) reads as `null`. A store failing later cuts the body short.
 */
export async function payloadPageBody(
  objects: FileStore,
  body: string,
  refs: readonly PayloadAt[],
): Promise<string | Readable> {
  if (refs.length === 0) return body;
  const first = await openRef(objects, refs[0]!);
  return Readable.from(splice(objects, body, refs, first));
}

async function openRef(objects: FileStore, ref: PayloadAt): Promise<OpenedObject | null> {
  const opened = await objects.open(payloadKey(ref.owner, ref.requestId, ref.which));
  return isOpened(opened) ? opened : null;
}

async function* splice(
  objects: FileStore,
  body: string,
  refs: readonly PayloadAt[],
  first: OpenedObject | null,
): AsyncIterable<Buffer> {
  let from = 0;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    yield Buffer.from(body.slice(from, ref.at));
    from = ref.at;
    const opened = i === 0 ? first : await openRef(objects, ref);
    if (!opened) {
      yield Buffer.from('null');
      continue;
    }
    for await (const chunk of opened.body)
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  yield Buffer.from(body.slice(from));
}
