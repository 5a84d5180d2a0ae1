import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiKeyRecord, KeyScope, KeyStore, LogLine } from '@hangar/core';
import Database from 'better-sqlite3';
import { createHttpApp, type HttpApp } from '../../../http/app.js';
import { createAuthenticator, hashSecret } from '../../../http/auth.js';
import { manifestFixture } from '../../../store/fixtures.js';
import { migrate } from '../../../store/sqlite/open.js';
import { createSqliteReads, type SqliteReads } from '../../../store/sqlite/reads/index.js';

// Shared fixtures of the logs, metrics and apps tests: a real SQLite file with every migration, keys
// inserted with SQL, and the real HTTP app with real key authentication.

/** A migrated database in a fresh temp directory. */
export interface TestDb {
  db: Database.Database;
  path: string;
  close(): void;
}

/** Creates a database file in a temp dir and applies every migration. */
export function openTestDb(): TestDb {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-api-'));
  const path = join(dir, 'hangar.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  migrate(db);
  return {
    db,
    path,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The SQLite reads over the test database: `size` 0 runs them on a read-only connection on this thread
 * (params and results still structured-cloned), more in worker threads.
 */
export function testQueryPool(path: string, size = 0): SqliteReads & { close(): Promise<void> } {
  const reads = createSqliteReads({ dbPath: path, size });
  return Object.assign(reads, { close: () => reads.pool.close() });
}

/** Inserts an owner and a key; returns the `Authorization` header value and the key id. */
export function addKey(db: Database.Database, owner: string, scope: KeyScope = 'API') {
  const keyId = `k_${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(16).toString('hex');
  db.prepare('INSERT OR IGNORE INTO owners (name, created_at) VALUES (?, 0)').run(owner);
  db.prepare(
    'INSERT INTO api_keys (key_id, owner, scope, name, secret_hash, created_at) VALUES (?, ?, ?, NULL, ?, 0)',
  ).run(keyId, owner, scope, hashSecret(secret));
  return { auth: `Key ${keyId}:${secret}`, keyId, credentials: `${keyId}:${secret}` };
}

/** A KeyStore over the `api_keys` table with only `findKey`, the one method authentication calls. */
function sqlKeys(db: Database.Database): KeyStore {
  const findKey: KeyStore['findKey'] = async (keyId) => {
    const r = db.prepare('SELECT * FROM api_keys WHERE key_id = ?').get(keyId) as
      | Record<string, unknown>
      | undefined;
    if (!r) return null;
    const key: ApiKeyRecord = {
      keyId,
      owner: r.owner as string,
      scope: r.scope as KeyScope,
      name: null,
      createdAt: 0,
      revokedAt: (r.revoked_at as number | null) ?? null,
    };
    return { key, secretHash: r.secret_hash as string };
  };
  return { findKey } as Pick<KeyStore, 'findKey'> as KeyStore;
}

/** The real HTTP app with key authentication against `db`. */
export function testApp(db: Database.Database): HttpApp {
  return createHttpApp({
    logger: false,
    authenticator: createAuthenticator(sqlKeys(db)),
    bodyLimit: 1 << 20,
  });
}

let nextLogId = 1;

/** A log line as stored: its id is known. */
export type StoredLogLine = LogLine & { id: number };

/** Inserts log lines with SQL (ids assigned here when absent) and returns them with ids. */
export function insertLogs(db: Database.Database, lines: Partial<LogLine>[]): StoredLogLine[] {
  const stmt = db.prepare(
    `INSERT INTO logs (id, ts, owner, app, revision, level, message, request_id, job_id, endpoint, source, labels)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const max = (db.prepare('SELECT coalesce(max(id), 0) m FROM logs').get() as { m: number }).m;
  nextLogId = Math.max(nextLogId, max + 1);
  const out = lines.map((p): StoredLogLine => {
    const id = nextLogId++;
    return { ...fullLine(p), id: p.id ?? id };
  });
  // The log store fills the search index itself (there is no insert trigger); do the same here.
  const fts = db.prepare('INSERT INTO logs_fts(rowid, message) VALUES (?, ?)');
  db.transaction(() => {
    for (const l of out) {
      fts.run(l.id, l.message);
      const b = l.labels;
      stmt.run(
        l.id,
        l.ts,
        l.owner,
        l.app,
        l.revision,
        l.level,
        l.message,
        b.fal_request_id ?? null,
        b.fal_job_id ?? null,
        b.fal_endpoint ?? null,
        b.source ?? null,
        JSON.stringify(b),
      );
    }
  })();
  return out;
}

/** A complete log line from a partial one. */
export function fullLine(p: Partial<LogLine>, id?: number): LogLine {
  return {
    id: p.id ?? id,
    ts: p.ts ?? Date.now(),
    owner: p.owner ?? 'alice',
    app: p.app ?? 'echo',
    revision: p.revision ?? 'rev-1',
    level: p.level ?? 'info',
    message: p.message ?? 'hello',
    labels: p.labels ?? { source: 'stdout' },
  };
}

/** Inserts an app with its current revision (and optional older revisions) with SQL. */
export function insertApp(
  db: Database.Database,
  owner: string,
  name: string,
  opts: {
    updatedAt?: number;
    manifest?: Partial<ReturnType<typeof manifestFixture>>;
    revisions?: number;
  } = {},
): string[] {
  const count = opts.revisions ?? 1;
  const at = opts.updatedAt ?? Date.parse('2026-01-01T00:00:00Z');
  const ids: string[] = [];
  const stmt = db.prepare(
    `INSERT INTO revisions (revision_id, owner, app, created_at, message, annotations, status, deployed_by,
       manifest, dir) VALUES (?, ?, ?, ?, ?, ?, 'deployed', ?, ?, '/x')`,
  );
  for (let i = 0; i < count; i++) {
    const id = `${owner}-${name}-r${i}`;
    const manifest = JSON.stringify(manifestFixture(name, opts.manifest ?? {}));
    const annotations = i % 2 === 0 ? JSON.stringify({ GIT_SHA: `sha${i}` }) : null;
    stmt.run(
      id,
      owner,
      name,
      at - (count - 1 - i) * 1000,
      i % 2 ? `deploy ${i}` : null,
      annotations,
      owner,
      manifest,
    );
    ids.push(id);
  }
  db.prepare(
    'INSERT INTO apps (owner, name, current_revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
  ).run(owner, name, ids[ids.length - 1], at, at);
  return ids;
}
