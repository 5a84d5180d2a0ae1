import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeObjectStoreContract } from '../../storage/object-store-contract.js';
import { createDiskObjectStore } from './object-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeObjectStoreContract('disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-objects-'));
  dirs.push(dir);
  return createDiskObjectStore(dir);
});
