import type { ObjectStore } from '@hangar/core';
import { describe, expect, it } from 'vitest';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(Buffer.from(c));
  return Buffer.concat(out).toString();
}

/** The behaviour every `ObjectStore` adapter must have; a new adapter is done when this passes unchanged. */
export function describeObjectStoreContract(name: string, open: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it('stores bytes with metadata and a content etag, and reads them back whole or by range', async () => {
      const store = await open();
      const info = await store.put('fal/a1/b2', chunks('hello ', 'world'), { type: 'text/plain' });
      expect(info).toEqual({
        key: 'fal/a1/b2',
        bytes: 11,
        etag: '5eb63bbbe01eeed093cb22bb8f5acdc3',
        meta: { type: 'text/plain' },
      });
      expect(await store.head('fal/a1/b2')).toEqual(info);
      const whole = await store.open('fal/a1/b2');
      expect(whole?.info).toEqual(info);
      expect(await text(whole?.body ?? chunks())).toBe('hello world');
      const part = await store.open('fal/a1/b2', { start: 6, end: 10 });
      expect(await text(part?.body ?? chunks())).toBe('world');
    });

    it('keeps nothing when the body fails midway, and an earlier object under the key stays whole', async () => {
      const store = await open();
      await store.put('fal/x', chunks('old'), {});
      const failing = async function* () {
        yield Buffer.from('partial');
        throw new Error('client went away');
      };
      await expect(store.put('fal/x', failing(), {})).rejects.toThrow('client went away');
      await expect(store.put('fal/y', failing(), {})).rejects.toThrow('client went away');
      expect(await text((await store.open('fal/x'))?.body ?? chunks())).toBe('old');
      expect(await store.head('fal/y')).toBeNull();
      expect(await store.open('fal/y')).toBeNull();
    });

    it('lists by prefix and deletes', async () => {
      const store = await open();
      await store.put('up/u1/1', chunks('a'), {});
      await store.put('up/u1/2', chunks('bb'), {});
      await store.put('up/u2/1', chunks('c'), {});
      const keys: string[] = [];
      for await (const o of store.list('up/u1/')) keys.push(`${o.key}:${o.bytes}`);
      expect(keys.sort()).toEqual(['up/u1/1:1', 'up/u1/2:2']);
      expect(await store.delete('up/u1/1')).toBe(true);
      expect(await store.delete('up/u1/1')).toBe(false);
      expect(await store.head('up/u1/1')).toBeNull();
      const rest: string[] = [];
      for await (const o of store.list('nothing/')) rest.push(o.key);
      expect(rest).toEqual([]);
    });

    it('refuses keys that could leave the store', async () => {
      const store = await open();
      for (const key of ['../etc/passwd', '/abs', 'a/../b', 'a//b', 'a/./b', '']) {
        await expect(store.put(key, chunks('x'), {})).rejects.toThrow();
      }
    });
  });
}
