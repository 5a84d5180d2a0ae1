import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeFileStoreContract } from '../../storage/file-store-contract.test-helper.js';
import { createDiskFileStore } from './file-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeFileStoreContract('disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-objects-'));
  dirs.push(dir);
  return createDiskFileStore(dir);
});
