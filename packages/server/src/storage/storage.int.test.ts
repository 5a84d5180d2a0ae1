import { join } from 'node:path';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { describeStorageApi } from './storage-api.test-helper.js';

describeStorageApi('disk', async (dir) => createDiskFileStore(join(dir, 'storage')));
