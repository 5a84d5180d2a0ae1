import { randomFillSync } from 'node:crypto';
import type { IdSource } from '@hangar/core';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes drawn in bulk: one `randomFillSync` per 409 ids instead of one per id. */
const POOL_SIZE = 4096;
const RANDOM_BYTES = 10;

/**
 * UUID version 7 ids (RFC 9562): a 48-bit millisecond timestamp followed by 74 random bits, formatted
 * like any UUID. Ids made later sort later, so the requests table's primary key grows at its right
 * edge instead of touching a random page per insert, which keeps each store commit small.
 */
export function createTimeOrderedIds(now: () => number = Date.now): IdSource {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let at = POOL_SIZE;
  let prefixMs = -1;
  let prefix = '';
  return () => {
    if (at + RANDOM_BYTES > POOL_SIZE) {
      randomFillSync(pool);
      at = 0;
    }
    const r = at;
    at += RANDOM_BYTES;
    const ms = now();
    if (ms !== prefixMs) {
      const lo = hex6(ms % 0x1000000);
      prefix = `${hex6(Math.floor(ms / 0x1000000) % 0x1000000)}${lo.slice(0, 2)}-${lo.slice(2)}-7`;
      prefixMs = ms;
    }
    pool[r] = pool[r]! & 0x0f;
    pool[r + 2] = (pool[r + 2]! & 0x3f) | 0x80;
    const hex = pool.toString('hex', r, r + RANDOM_BYTES);
    return `${prefix}${hex.slice(1, 4)}-${hex.slice(4, 8)}-${hex.slice(8)}`;
  };
}

function hex6(n: number): string {
  return HEX[(n >>> 16) & 0xff]! + HEX[(n >>> 8) & 0xff]! + HEX[n & 0xff]!;
}
