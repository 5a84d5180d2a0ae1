import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeWebhookOutboxContract, type WebhookOutboxHarness } from '../webhook-outbox-contract.js';
import { createSqliteStores } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'hangar-sqlite-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function openOutbox(path: string): WebhookOutboxHarness {
  const stores = createSqliteStores({ path });
  return { outbox: stores.outbox, close: () => stores.close(), reopen: async () => openOutbox(path) };
}

describeWebhookOutboxContract('sqlite', async () => openOutbox(join(dir, `outbox-${n++}.db`)));
