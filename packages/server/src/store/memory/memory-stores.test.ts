import { describeStoresContract } from '../contract.js';
import { createMemoryStores } from './index.js';

describeStoresContract('memory', async () => {
  const stores = createMemoryStores();
  return { stores, meterRows: async () => stores.snapshot().meter };
});
