import { createHash } from 'node:crypto';
import { type FileStore, isOpened, type ListPage, StoreConflict } from '@hangar/core';
import { describe, expect, it } from 'vitest';

async function* chunks(...parts: Array<string | Buffer>): AsyncIterable<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

async function bytesOf(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

async function read(store: FileStore, key: string, range?: { start: number; end: number }) {
  const opened = await store.open(key, range ? { range } : undefined);
  if (!isOpened(opened)) return null;
  return (await bytesOf(opened.body)).toString();
}

/** Every page of a listing, following `next`, with a guard against a cursor that does not advance. */
async function allPages(store: FileStore, prefix: string, delimiter: boolean, limit: number) {
  const pages: ListPage[] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await store.listPage({ prefix, delimiter, after, limit });
    pages.push(page);
    if (page.next === null) break;
    expect(page.next).not.toBe(after);
    after = page.next;
  }
  return {
    keys: pages.flatMap((p) => p.objects.map((o) => o.key)),
    prefixes: pages.flatMap((p) => p.prefixes),
    pages: pages.length,
  };
}

/**
 * The behaviour every `FileStore` adapter must have; an adapter is done when this passes unchanged.
 * `open` gives a fresh, empty store.
 */
export function describeFileStoreContract(name: string, open: () => Promise<FileStore>): void {
  describe(`FileStore contract: ${name}`, () => {
    it('stores bytes with metadata and a strong etag, and reads them back whole or by range', async () => {
      const store = await open();
      const info = await store.put('fal/a1/b2', chunks('hello ', 'world'), {
        type: 'text/plain',
        name: 'é x.txt',
      });
      expect(info).toMatchObject({
        key: 'fal/a1/b2',
        bytes: 11,
        meta: { type: 'text/plain', name: 'é x.txt' },
      });
      expect(info.etag).toMatch(/^[0-9a-f-]{8,}$/);
      const head = await store.head('fal/a1/b2');
      expect(head).toMatchObject({ key: 'fal/a1/b2', bytes: 11, etag: info.etag, meta: info.meta });
      expect(head?.modifiedAt).toBeGreaterThan(0);
      const whole = await store.open('fal/a1/b2');
      expect(isOpened(whole) && whole.info.etag).toBe(info.etag);
      expect(await read(store, 'fal/a1/b2')).toBe('hello world');
      expect(await read(store, 'fal/a1/b2', { start: 6, end: 10 })).toBe('world');
      expect(await read(store, 'fal/a1/b2', { start: 6, end: 1000 })).toBe('world');
      expect(await store.head('fal/a1/none')).toBeNull();
      expect(await store.open('fal/a1/none')).toBeNull();
      // A replace gets a new validator.
      const again = await store.put('fal/a1/b2', chunks('HELLO world'), {});
      expect(again.etag).not.toBe(info.etag);
      expect((await store.head('fal/a1/b2'))?.meta).toEqual({});
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
      expect(await read(store, 'fal/x')).toBe('old');
      expect(await store.head('fal/y')).toBeNull();
      expect(await store.open('fal/y')).toBeNull();
      expect((await allPages(store, 'fal/', false, 10)).keys).toEqual(['fal/x']);
    });

    it('streams a big object in parts and reads it back byte for byte', async () => {
      const store = await open();
      const chunk = Buffer.alloc(256 * 1024);
      const parts: Buffer[] = [];
      for (let i = 0; i < 48; i++) parts.push(Buffer.from(chunk.fill(i % 251)));
      const expected = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
      const info = await store.put('big/one', chunks(...parts), {});
      expect(info.bytes).toBe(48 * 256 * 1024);
      const opened = await store.open('big/one');
      expect(isOpened(opened)).toBe(true);
      const got = await bytesOf(isOpened(opened) ? opened.body : chunks());
      expect(createHash('sha256').update(got).digest('hex')).toBe(expected);
      const tail = await store.open('big/one', { range: { start: info.bytes - 3, end: info.bytes - 1 } });
      expect([...(await bytesOf(isOpened(tail) ? tail.body : chunks()))]).toEqual([47, 47, 47]);
    });

    it('lists by prefix in key order and deletes', async () => {
      const store = await open();
      await store.put('up/u1/2', chunks('bb'), {});
      await store.put('up/u1/1', chunks('a'), {});
      await store.put('up/u2/1', chunks('c'), {});
      await store.put('up/u1/3', chunks('ccc'), { owner: 'acme' });
      const keys: string[] = [];
      for await (const o of store.list('up/u1/')) keys.push(`${o.key}:${o.bytes}:${o.meta['owner'] ?? ''}`);
      expect(keys).toEqual(['up/u1/1:1:', 'up/u1/2:2:', 'up/u1/3:3:acme']);
      const page = await store.listPage({ prefix: 'up/u1/' });
      expect(page.objects.map((o) => [o.key, o.bytes, o.meta])).toEqual([
        ['up/u1/1', 1, {}],
        ['up/u1/2', 2, {}],
        ['up/u1/3', 3, {}],
      ]);
      expect(await store.delete('up/u1/1')).toBe(true);
      expect(await store.delete('up/u1/1')).toBe(false);
      expect(await store.head('up/u1/1')).toBeNull();
      const rest: string[] = [];
      for await (const o of store.list('nothing/')) rest.push(o.key);
      expect(rest).toEqual([]);
    });

    it('pages a flat listing in S3 key order across folders, without losing or repeating a key', async () => {
      const store = await open();
      const keys = ['t/a-c', 't/a/b', 't/a/c/d', 't/b', 't/é', 't/z/1', 't/z/2', 't/ab'];
      for (const k of keys) await store.put(k, chunks(k), {});
      const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      for (const limit of [1, 2, 3, 1000]) {
        const all = await allPages(store, 't/', false, limit);
        expect(all.keys).toEqual(sorted);
        expect(all.prefixes).toEqual([]);
      }
    });

    it('lists one level with a delimiter: folders as prefixes, paged without repeats', async () => {
      const store = await open();
      for (const k of [
        'o/acme/a.txt',
        'o/acme/m/1',
        'o/acme/m/2',
        'o/acme/n/x/y',
        'o/acme/z.txt',
        'o/rival/s',
      ]) {
        await store.put(k, chunks('x'), {});
      }
      for (const limit of [1, 2, 1000]) {
        const all = await allPages(store, 'o/acme/', true, limit);
        expect(all.keys).toEqual(['o/acme/a.txt', 'o/acme/z.txt']);
        expect(all.prefixes).toEqual(['o/acme/m/', 'o/acme/n/']);
      }
      const partial = await store.listPage({ prefix: 'o/acme/m', delimiter: true });
      expect(partial.prefixes).toEqual(['o/acme/m/']);
      const root = await store.listPage({ prefix: '', delimiter: true });
      expect(root.prefixes).toEqual(['o/']);
      expect((await store.listPage({ prefix: 'o/none/', delimiter: true })).objects).toEqual([]);
    });

    it('answers conditional reads and refuses conditional writes that do not hold', async () => {
      const store = await open();
      const v1 = await store.put('c/k', chunks('one'), {});
      expect(await store.open('c/k', { ifNoneMatch: v1.etag })).toMatchObject({ unmet: 'not-modified' });
      expect(await store.open('c/k', { ifMatch: 'deadbeef' })).toMatchObject({
        unmet: 'precondition-failed',
      });
      const matched = await store.open('c/k', { ifMatch: v1.etag });
      expect(isOpened(matched)).toBe(true);
      if (isOpened(matched)) expect((await bytesOf(matched.body)).toString()).toBe('one');
      await expect(store.put('c/k', chunks('two'), {}, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
        StoreConflict,
      );
      await expect(store.put('c/k', chunks('two'), {}, { ifMatch: 'deadbeef' })).rejects.toBeInstanceOf(
        StoreConflict,
      );
      expect(await read(store, 'c/k')).toBe('one');
      const v2 = await store.put('c/k', chunks('two'), {}, { ifMatch: v1.etag });
      expect(await read(store, 'c/k')).toBe('two');
      expect(v2.etag).not.toBe(v1.etag);
      await store.put('c/new', chunks('fresh'), {}, { ifNoneMatch: '*' });
      expect(await read(store, 'c/new')).toBe('fresh');
    });

    it('copies and moves objects with their metadata', async () => {
      const store = await open();
      await store.put('m/src', chunks('payload'), { type: 'image/png' });
      const copied = await store.copy('m/src', 'm/copy/one');
      expect(copied).toMatchObject({ key: 'm/copy/one', bytes: 7, meta: { type: 'image/png' } });
      expect(await read(store, 'm/copy/one')).toBe('payload');
      expect(await read(store, 'm/src')).toBe('payload');
      const moved = await store.move('m/src', 'm/moved');
      expect(moved).toMatchObject({ key: 'm/moved', bytes: 7 });
      expect(await store.head('m/src')).toBeNull();
      expect((await store.head('m/moved'))?.meta).toEqual({ type: 'image/png' });
      expect(await store.copy('m/none', 'm/x')).toBeNull();
      expect(await store.move('m/none', 'm/x')).toBeNull();
      await expect(store.copy('m/moved', 'm/copy/one', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
        StoreConflict,
      );
    });

    it('serves a signed URL with the bytes when the backend has them', async () => {
      const store = await open();
      await store.put('s/file.bin', chunks('signed bytes'), {});
      const url = await store.signedUrl('s/file.bin', { expiresInS: 60, filename: 'file.bin' });
      if (url === null) {
        expect(store.kind).toBe('disk');
        return;
      }
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('signed bytes');
    });

    it('refuses keys that could leave the store, and treats names literally', async () => {
      const store = await open();
      const bad = [
        '../etc/passwd',
        '/abs',
        'a/../b',
        'a//b',
        'a/./b',
        '',
        'a\\b',
        'a\u0000b',
        'x/',
        `k/${'x'.repeat(256)}`,
      ];
      for (const key of bad) {
        await expect(store.put(key, chunks('x'), {}), JSON.stringify(key)).rejects.toThrow();
        await expect(store.head(key), JSON.stringify(key)).rejects.toThrow();
      }
      await store.put('lit/%2e%2e/é name.png', chunks('ok'), {});
      expect(await read(store, 'lit/%2e%2e/é name.png')).toBe('ok');
      expect((await allPages(store, 'lit/', false, 10)).keys).toEqual(['lit/%2e%2e/é name.png']);
      // A listing prefix that is not a key lists nothing.
      expect((await store.listPage({ prefix: '../' })).objects).toEqual([]);
    });
  });
}
