import { describeWebhookOutboxContract } from '../webhook-outbox-contract.js';
import { MemoryWebhookOutbox } from './webhook-outbox.js';

describeWebhookOutboxContract('memory', async () => {
  const outbox = new MemoryWebhookOutbox();
  return { outbox, close: () => outbox.close() };
});
