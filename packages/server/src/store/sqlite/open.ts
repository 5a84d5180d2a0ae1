import Database from 'better-sqlite3';
import { MIGRATIONS } from './schema.js';

const BUSY_TIMEOUT_MS = 5000;
/**
 * Page cache of the writer connection (KiB; SQLite's default is 2 MiB). Each commit updates the right edge
 * of every time-ordered index and merges full-text segments: with a few GB of history those pages must
 * stay cached, or each commit waits on reads.
 */
const WRITER_CACHE_KIB = 64 * 1024;

/** Opens (creating if needed) the read-write database with WAL and applies pending migrations. */
export function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies every migration past the database's `user_version`, each in its own transaction. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this server knows (${MIGRATIONS.length}); upgrade the server`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Opens a read-only connection (`query_only`) for query workers; the database must already exist. */
export function openReadOnly(path: string): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('query_only = ON');
  return db;
}
