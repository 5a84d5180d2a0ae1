import type { ApiKeyRecord, Clock, KeyStore } from '@hangar/core';
import type Database from 'better-sqlite3';
import { rowToApiKey } from './rows.js';
import type { SqliteWriter } from './writer.js';

const KEY_COLUMNS = 'key_id, owner, scope, name, created_at, revoked_at';

/** Owners and API keys on SQLite; writes go through the writer and resolve once committed. */
export class SqliteKeyStore implements KeyStore {
  private readonly ownerStmt: Database.Statement;
  private readonly insertStmt: Database.Statement;
  private readonly findStmt: Database.Statement;
  private readonly revokeStmt: Database.Statement;
  private readonly replaceStmt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: SqliteWriter,
    private readonly clock: Clock,
  ) {
    this.ownerStmt = db.prepare('INSERT OR IGNORE INTO owners (name, created_at) VALUES (?, ?)');
    this.insertStmt = db.prepare(
      `INSERT INTO api_keys (${KEY_COLUMNS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.replaceStmt = db.prepare(
      `INSERT OR REPLACE INTO api_keys (${KEY_COLUMNS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.findStmt = db.prepare(`SELECT ${KEY_COLUMNS}, secret_hash FROM api_keys WHERE key_id = ?`);
    this.revokeStmt = db.prepare(
      'UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL',
    );
  }

  async ensureOwner(owner: string): Promise<void> {
    await this.writer.enqueueAwait(this.ownerStmt, [owner, this.clock()]);
  }

  async listOwners(): Promise<string[]> {
    this.writer.commit();
    return this.db.prepare('SELECT name FROM owners ORDER BY name').pluck().all() as string[];
  }

  /** Creates the key's owner too when it is new, so a key never dangles. */
  async insertKey(key: ApiKeyRecord, secretHash: string): Promise<void> {
    this.writer.enqueue(this.ownerStmt, [key.owner, this.clock()]);
    const params = [key.keyId, key.owner, key.scope, key.name, key.createdAt, key.revokedAt, secretHash];
    await this.writer.enqueueAwait(this.insertStmt, params);
  }

  async replaceKey(key: ApiKeyRecord, secretHash: string): Promise<void> {
    this.writer.enqueue(this.ownerStmt, [key.owner, this.clock()]);
    const params = [key.keyId, key.owner, key.scope, key.name, key.createdAt, key.revokedAt, secretHash];
    await this.writer.enqueueAwait(this.replaceStmt, params);
  }

  async findKey(keyId: string): Promise<{ key: ApiKeyRecord; secretHash: string } | null> {
    this.writer.commit();
    const row = this.findStmt.get(keyId) as Record<string, unknown> | undefined;
    return row ? { key: rowToApiKey(row), secretHash: row.secret_hash as string } : null;
  }

  async listKeys(owner?: string): Promise<ApiKeyRecord[]> {
    this.writer.commit();
    const where = owner === undefined ? '' : 'WHERE owner = ?';
    const stmt = this.db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys ${where} ORDER BY created_at, key_id`);
    const rows = (owner === undefined ? stmt.all() : stmt.all(owner)) as Record<string, unknown>[];
    return rows.map(rowToApiKey);
  }

  async revokeKey(keyId: string, at: number): Promise<boolean> {
    return (await this.writer.enqueueAwait(this.revokeStmt, [at, keyId])) > 0;
  }
}
