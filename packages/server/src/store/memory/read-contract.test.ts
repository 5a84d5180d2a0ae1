import { describeReadContract } from '../read-contract.js';
import { createMemoryStores } from './index.js';

describeReadContract('memory', async () => createMemoryStores());
