import { describeStoresContract } from '../contract.js';
import { describeSecretStoreContract } from '../secret-contract.js';
import { createMemoryStores } from './index.js';

describeStoresContract('memory', async () => {
  const stores = createMemoryStores();
  return { stores, meterRows: async () => stores.snapshot().meter };
});

describeSecretStoreContract('memory', async () => {
  const stores = createMemoryStores();
  return { secrets: stores.secrets, close: () => stores.close() };
});
