#!/usr/bin/env node
// Adds API keys for the SSE clients to a (stopped) server's database: the server caps concurrent log
// streams per key (default 10), and 200 tailing users realistically hold many keys, not one.
//   node bench/api/stream-keys.mjs --db HOME/hangar.db --owner acme --n 20 --out keys.json
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const Database = createRequire(join(ROOT, 'packages/server/package.json'))('better-sqlite3');
const { values: opt } = parseArgs({
  options: {
    db: { type: 'string' },
    owner: { type: 'string' },
    n: { type: 'string' },
    out: { type: 'string' },
  },
});

const db = new Database(opt.db);
const insert = db.prepare(
  `INSERT INTO api_keys (key_id, owner, scope, name, secret_hash, created_at, revoked_at)
   VALUES (?, ?, 'API', ?, ?, ?, NULL)`,
);
const keys = [];
db.transaction(() => {
  for (let i = 0; i < Number(opt.n); i++) {
    const keyId = randomUUID();
    const secret = randomBytes(32).toString('hex');
    insert.run(
      keyId,
      opt.owner,
      `bench stream ${i}`,
      createHash('sha256').update(secret).digest('hex'),
      Date.now(),
    );
    keys.push(`${keyId}:${secret}`);
  }
})();
db.close();
writeFileSync(opt.out, `${JSON.stringify(keys)}\n`);
