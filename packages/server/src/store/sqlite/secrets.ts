import type { SecretStore, StoredSecret } from '@hangar/core';
import type Database from 'better-sqlite3';
import type { SqliteWriter } from './writer.js';

const COLUMNS = 'owner, name, sealed, key_id, created_at, updated_at';

function toSecret(row: Record<string, unknown>): StoredSecret {
  return {
    owner: row.owner as string,
    name: row.name as string,
    sealed: row.sealed as Buffer,
    keyId: row.key_id as string,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}

/** Sealed secrets on SQLite; writes go through the writer and resolve once committed. */
export class SqliteSecretStore implements SecretStore {
  private readonly putStmt: Database.Statement;
  private readonly deleteStmt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.putStmt = db.prepare(
      `INSERT INTO secrets (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (owner, name) DO UPDATE SET
         sealed = excluded.sealed, key_id = excluded.key_id, updated_at = excluded.updated_at`,
    );
    this.deleteStmt = db.prepare('DELETE FROM secrets WHERE owner = ? AND name = ?');
  }

  async putSecret(s: StoredSecret): Promise<void> {
    await this.writer.enqueueAwait(this.putStmt, [
      s.owner,
      s.name,
      s.sealed,
      s.keyId,
      s.createdAt,
      s.updatedAt,
    ]);
  }

  async listSecrets(owner?: string): Promise<StoredSecret[]> {
    this.writer.commit();
    const where = owner === undefined ? '' : 'WHERE owner = ?';
    const stmt = this.db.prepare(`SELECT ${COLUMNS} FROM secrets ${where} ORDER BY owner, name`);
    const rows = (owner === undefined ? stmt.all() : stmt.all(owner)) as Record<string, unknown>[];
    return rows.map(toSecret);
  }

  async deleteSecret(owner: string, name: string): Promise<boolean> {
    return (await this.writer.enqueueAwait(this.deleteStmt, [owner, name])) > 0;
  }
}
