import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PlatformError } from '@hangar/core';
import { ADVISORY, type PgSession } from './session.js';

/** One versioned schema change: `migrations/NNN-name.ts` exporting `sql`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATION_FILE = /^(\d{3})-([a-z0-9-]+)\.(?:js|ts)$/;

/**
 * Every migration shipped with this build, in version order. Files are found by name, so slices of the
 * schema (numbers reserved per area, with gaps) never edit a shared list.
 */
export async function loadMigrations(
  dir = `${dirname(fileURLToPath(import.meta.url))}/migrations`,
): Promise<Migration[]> {
  const out: Migration[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const m = MIGRATION_FILE.exec(file);
    if (!m || file.endsWith('.d.ts') || file.includes('.test.')) continue;
    const mod = (await import(pathToFileURL(`${dir}/${file}`).href)) as { sql?: unknown };
    if (typeof mod.sql !== 'string') throw new Error(`migration ${file} exports no sql string`);
    out.push({ version: Number(m[1]), name: m[2] ?? '', sql: mod.sql });
  }
  const versions = out.map((m) => m.version);
  if (new Set(versions).size !== versions.length) throw new Error('two migrations share a version');
  return out.sort((a, b) => a.version - b.version);
}

/** What `migratePostgres` did. */
export interface MigrationResult {
  /** Versions applied by this call (others may have been applied by another node first). */
  applied: number[];
  /** Every version now recorded in the database. */
  current: number[];
}

/**
 * Applies the migrations the database lacks, each in its own transaction, under a session advisory lock so
 * that nodes starting together apply each one once. Refuses (DATABASE_SCHEMA_NEWER) when the database
 * records a version this build does not ship: a newer node migrated it and this one would misread it.
 */
export async function migratePostgres(
  db: PgSession,
  migrations: readonly Migration[],
): Promise<MigrationResult> {
  await db.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY.namespace, ADVISORY.migrate]);
  try {
    await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const rows = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    const done = new Set(rows.map((r) => Number(r.version)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      const newest = Math.max(0, ...known);
      throw new PlatformError(
        'DATABASE_SCHEMA_NEWER',
        `The database schema has migration ${unknown.join(', ')} that this Hangar does not know (it knows up to ${newest}): a newer Hangar migrated it; upgrade this node`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await applyOne(db, m);
      applied.push(m.version);
    }
    return { applied, current: [...done, ...applied].sort((a, b) => a - b) };
  } finally {
    await db.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY.namespace, ADVISORY.migrate]);
  }
}

async function applyOne(db: PgSession, m: Migration): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(m.sql);
    await db.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      Date.now(),
    ]);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
