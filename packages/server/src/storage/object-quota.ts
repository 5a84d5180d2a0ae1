import { type FileStore, PlatformError } from '@hangar/core';

/** Per-owner bytes held in object storage (objects and pending upload parts), counted as they stream. */
export interface ObjectQuota {
  /**
   * Wraps an upload body: charges its bytes to the owner as they pass (adding them to `charged`) and
   * throws past the quota or `maxBytes`. The caller releases `charged.bytes` when the write fails.
   */
  meter(
    owner: string,
    body: AsyncIterable<Uint8Array>,
    maxBytes: number,
    charged: { bytes: number },
  ): AsyncIterable<Uint8Array>;
  /** Throws STORAGE_QUOTA_EXCEEDED when `bytes` more would not fit now. */
  check(owner: string, bytes: number): Promise<void>;
  /** Records bytes freed (a deleted object or part) or given back (a failed write). */
  release(owner: string, bytes: number): void;
  usage(owner: string): Promise<number>;
}

/**
 * Usage is read once from the store (every key whose metadata names an owner) and then kept current by
 * the writes and deletes that go through the service, the only writer of these keys.
 */
export function createObjectQuota(
  objects: FileStore,
  prefixes: readonly string[],
  quotaBytes: (owner: string) => number,
): ObjectQuota {
  let used: Promise<Map<string, number>> | null = null;
  const load = () =>
    (used ??= (async () => {
      const map = new Map<string, number>();
      for (const prefix of prefixes) {
        for await (const o of objects.list(prefix)) {
          const owner = o.meta['owner'];
          if (owner) map.set(owner, (map.get(owner) ?? 0) + o.bytes);
        }
      }
      return map;
    })());
  const exceeded = (owner: string) =>
    new PlatformError(
      'STORAGE_QUOTA_EXCEEDED',
      `Object storage quota exceeded (${quotaBytes(owner)} bytes for this owner)`,
    );

  return {
    async *meter(owner, body, maxBytes, charged) {
      const map = await load();
      let counted = 0;
      for await (const chunk of body) {
        counted += chunk.byteLength;
        if (counted > maxBytes) {
          throw new PlatformError('STORAGE_OBJECT_TOO_LARGE', `The object exceeds ${maxBytes} bytes`);
        }
        const now = (map.get(owner) ?? 0) + chunk.byteLength;
        if (now > quotaBytes(owner)) throw exceeded(owner);
        map.set(owner, now);
        charged.bytes += chunk.byteLength;
        yield chunk;
      }
    },
    async check(owner, bytes) {
      const map = await load();
      if ((map.get(owner) ?? 0) + bytes > quotaBytes(owner)) throw exceeded(owner);
    },
    release(owner, bytes) {
      void load().then((map) => map.set(owner, Math.max(0, (map.get(owner) ?? 0) - bytes)));
    },
    async usage(owner) {
      return (await load()).get(owner) ?? 0;
    },
  };
}
