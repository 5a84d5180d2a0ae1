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
  return () => {
    if (at + RANDOM_BYTES > POOL_SIZE) {
      randomFillSync(pool);
      at = 0;
    }
    const r = at;
    at += RANDOM_BYTES;
    const ms = now();
    const lo = hex6(ms % 0x1000000);
    return (
      `${hex6(Math.floor(ms / 0x1000000) % 0x1000000)}${lo.slice(0, 2)}-${lo.slice(2)}-7` +
      `${HEX[pool[r]! & 0x0f]!.slice(1)}${HEX[pool[r + 1]!]}-${HEX[(pool[r + 2]! & 0x3f) | 0x80]}` +
      `${HEX[pool[r + 3]!]}-${HEX[pool[r + 4]!]}${HEX[pool[r + 5]!]}${HEX[pool[r + 6]!]}` +
      `${HEX[pool[r + 7]!]}${HEX[pool[r + 8]!]}${HEX[pool[r + 9]!]}`
    );
  };
}

function hex6(n: number): string {
  return HEX[(n >>> 16) & 0xff]! + HEX[(n >>> 8) & 0xff]! + HEX[n & 0xff]!;
}
