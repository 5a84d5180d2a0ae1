import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { describePayloadStore } from './payloads.test-helper.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describePayloadStore('disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-payload-objects-'));
  dirs.push(dir);
  return createDiskFileStore(dir);
});
