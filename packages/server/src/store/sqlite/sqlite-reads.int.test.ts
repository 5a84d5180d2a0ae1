import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeReadContract } from '../read-contract.js';
import { createSqliteStores } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'hangar-sqlite-reads-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Inline reads (0 workers) and reads on a worker thread answer the same.
describeReadContract('sqlite', async () => createSqliteStores({ path: join(dir, `r${n++}.db`) }));
describeReadContract('sqlite, worker thread', async () =>
  createSqliteStores({ path: join(dir, `w${n++}.db`), reads: { workers: 1 } }),
);
