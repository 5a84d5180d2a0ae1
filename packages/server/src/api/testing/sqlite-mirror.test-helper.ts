import type pg from 'pg';
import { COPIED } from '../../store/postgres/reads/seed.test-helper.js';
import { openReadOnly } from '../../store/sqlite/open.js';

// Mirrors a SQLite file into a migrated PostgreSQL database, for route tests that seed SQLite and ask the
// PostgreSQL reads. Only the tables whose rows changed since this mirror last filled the database are
// rewritten, each with one statement (its rows as a JSON array, `json_populate_recordset`), in one
// transaction: a read sees the file's state at one instant.

/** Tables the mirror fills; meter_rollups follows meter through PostgreSQL's trigger. */
export const MIRRORED = [...COPIED, 'request_rollups'];

/** One SQLite file's mirror into `pool`'s database; `sync()` brings the database up to date. */
export interface SqliteMirror {
  sync(): Promise<void>;
  close(): void;
}

/** Which mirror last filled a database (several mirrors may share one, one at a time). */
export interface MirrorTarget {
  pool: pg.Pool;
  filledBy: object | null;
}

/** Columns per table (every database here has the same migrations). */
const columnsOf = new Map<string, string[]>();

async function pgColumns(db: pg.PoolClient, table: string): Promise<string[]> {
  let cols = columnsOf.get(table);
  if (!cols) {
    const text = 'SELECT column_name FROM information_schema.columns WHERE table_name = $1';
    cols = (await db.query(text, [table])).rows.map((r) => r.column_name as string);
    columnsOf.set(table, cols);
  }
  return cols;
}

/** Inserts the rows of `table`; blobs travel as bytea hex text, SQLite's 0/1 as boolean input. */
async function insertAll(db: pg.PoolClient, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const pgCols = await pgColumns(db, table);
  const cols = Object.keys(rows[0]!).filter((c) => pgCols.includes(c));
  for (const r of rows) {
    for (const c of cols) {
      const v = r[c];
      if (Buffer.isBuffer(v)) r[c] = `\\x${v.toString('hex')}`;
    }
  }
  const list = cols.join(', ');
  await db.query(
    `INSERT INTO ${table} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${table}, $1::json)`,
    [JSON.stringify(rows)],
  );
}

/** Opens a mirror of `sqlitePath` into `target` (the file stays open read-only to see its changes). */
export function openSqliteMirror(sqlitePath: string, target: MirrorTarget): SqliteMirror {
  const src = openReadOnly(sqlitePath);
  const self = {};
  let seen: number | null = null;
  /** Each table's rows as last copied by this mirror, to rewrite only the tables that changed. */
  let copied: string[] = [];
  return {
    async sync() {
      // One snapshot of the file; data_version moves whenever another connection commits to it.
      const snapshot = src.transaction(() => ({
        version: src.pragma('data_version', { simple: true }) as number,
        tables: MIRRORED.map((t) => src.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[]),
      }))();
      const mine = target.filledBy === self;
      if (mine && snapshot.version === seen) return;
      const texts = snapshot.tables.map((rows) => JSON.stringify(rows));
      const changed = MIRRORED.filter((_, i) => !mine || texts[i] !== copied[i]);
      if (mine && changed.length === 0) {
        seen = snapshot.version;
        return;
      }
      target.filledBy = null;
      const db = await target.pool.connect();
      try {
        await db.query('BEGIN');
        // DELETE, not TRUNCATE: a few rows go faster than new files for every table and index.
        const cleared = changed.includes('meter') ? ['meter_rollups', ...changed] : changed;
        for (const table of [...cleared].reverse()) await db.query(`DELETE FROM ${table}`);
        for (const [i, table] of MIRRORED.entries()) {
          if (changed.includes(table)) await insertAll(db, table, snapshot.tables[i]!);
        }
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        db.release();
      }
      seen = snapshot.version;
      copied = texts;
      target.filledBy = self;
    },
    close: () => src.close(),
  };
}
