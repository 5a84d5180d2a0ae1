import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { describePayloadStore } from './payloads.test-helper.js';

describePayloadStore('disk', async () =>
  createDiskFileStore(mkdtempSync(join(tmpdir(), 'hangar-payload-objects-'))),
);
