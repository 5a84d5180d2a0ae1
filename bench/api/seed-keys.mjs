// The seeded owners' API keys: the hashes go into the database, the secrets to the benchmark.
import { createHash } from 'node:crypto';
import { createRandom, OWNERS } from './seed-catalog.mjs';

const DAY = 24 * 60 * 60_000;

/** Owners with one ADMIN key (what the benchmark uses) and one API key (what callers use) each. */
export function createKeys(seed, start) {
  const r = createRandom(seed * 31 + 7);
  const rows = [];
  const byOwner = {};
  for (const owner of Object.keys(OWNERS)) {
    const entry = {};
    for (const scope of ['ADMIN', 'API']) {
      const keyId = r.uuid();
      const secret = r.hex(64);
      const hash = createHash('sha256').update(secret).digest('hex');
      rows.push([keyId, owner, scope, `bench ${scope.toLowerCase()}`, hash, start - 30 * DAY]);
      entry[scope.toLowerCase()] = `${keyId}:${secret}`;
      entry[`${scope.toLowerCase()}_key_id`] = keyId;
    }
    byOwner[owner] = entry;
  }
  return { owners: Object.keys(OWNERS), rows, byOwner };
}
