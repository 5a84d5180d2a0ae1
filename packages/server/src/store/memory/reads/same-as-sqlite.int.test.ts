import { describeReadsParity } from '../../reads-parity.test-helper.js';
import { useTwinWorld } from './world.test-helper.js';

// The memory reads answer byte for byte what the SQLite reads answer, over one world written through the
// write ports of both engines.

describeReadsParity({ name: 'memory', skip: null }, () => useTwinWorld());
