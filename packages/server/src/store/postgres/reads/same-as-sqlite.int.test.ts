import { postgresMissing } from '../../../test-services/postgres.test-helper.js';
import { describeReadsParity } from '../../reads-parity.test-helper.js';
import { useSeededWorld } from './world.test-helper.js';

// The PostgreSQL reads answer byte for byte what the SQLite reads answer, over one world written through
// the SQLite write ports and copied into PostgreSQL (its analytics rollups written by two rollup sinks).

describeReadsParity({ name: 'PostgreSQL', skip: postgresMissing }, () => useSeededWorld());
