#!/usr/bin/env node
// Locates the cached seeded database for the current schema, seeder and seed arguments.
//   node bench/api/cache.mjs <cache root> <max age hours> [seed args…]
// Prints the cache directory for this key on stdout; exits 0 when it holds a usable seed (same schema
// version and migrations, same seeder and rollup code, younger than max age), 1 when it must be (re)seeded.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const DIST = join(ROOT, 'packages/server/dist');
const [cacheRoot, maxAgeH, ...seedArgs] = process.argv.slice(2);

const { MIGRATIONS } = await import(pathToFileURL(join(DIST, 'store/sqlite/schema.js')).href);
const hash = createHash('sha256');
hash.update(JSON.stringify(MIGRATIONS));
for (const f of ['seed.mjs', 'seed-world.mjs', 'seed-keys.mjs', 'seed-catalog.mjs'])
  hash.update(readFileSync(join(HERE, f)));
const rollup = join(DIST, 'store/sqlite/rollups.js');
if (existsSync(rollup)) hash.update(readFileSync(rollup));
hash.update(JSON.stringify(seedArgs));
const key = `v${MIGRATIONS.length}-${hash.digest('hex').slice(0, 16)}`;
const dir = resolve(cacheRoot, `api-seed-${key}`);
console.log(dir);

const metaPath = join(dir, 'bench-seed.json');
if (!existsSync(metaPath) || !existsSync(join(dir, 'hangar.db'))) process.exit(1);
const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const ageH = (Date.now() - meta.end) / 3_600_000;
if (meta.schema_version !== MIGRATIONS.length || ageH > Number(maxAgeH)) process.exit(1);
process.exit(0);
