// The SQLite reads of the embedded store over one file, inline (no worker threads): the reference the
// PostgreSQL reads are compared with.
import { createSqliteReads, type SqliteReads } from '../../sqlite/reads/index.js';

/** Every Platform API read on the SQLite file `dbPath`, run on the calling thread; close its `pool`. */
export function sqliteReads(dbPath: string): SqliteReads {
  return createSqliteReads({ dbPath, size: 0 });
}
