import type {
  ApiKeyRecord,
  App,
  AppSettings,
  AppSettingsRow,
  AppStore,
  BundleRecord,
  Clock,
  KeyStore,
  Revision,
  SecretStore,
  StoredSecret,
} from '@hangar/core';
import type pg from 'pg';
import {
  APP_COLUMNS,
  REVISION_COLUMNS,
  revisionValues,
  rowToApiKey,
  rowToApp,
  rowToRevision,
} from '../sqlite/rows.js';
import { query, sql, write } from './statements.js';
import type { PgWriter } from './writer.js';

type Row = Record<string, unknown>;
const KEY_COLUMNS = 'key_id, owner, scope, name, created_at, revoked_at';
const OWNER_SQL = 'INSERT INTO owners (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING';

/** Owners and API keys on PostgreSQL; writes resolve once committed. */
export class PostgresKeyStore implements KeyStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
    private readonly clock: Clock,
  ) {}

  async ensureOwner(owner: string): Promise<void> {
    await write(this.writer, sql(OWNER_SQL, owner, this.clock()));
  }

  async listOwners(): Promise<string[]> {
    const rows = await query<{ name: string }>(
      this.pool,
      this.writer,
      'SELECT name FROM owners ORDER BY name',
    );
    return rows.map((r) => r.name);
  }

  /** Creates the key's owner too when it is new, so a key never dangles. */
  async insertKey(key: ApiKeyRecord, secretHash: string): Promise<void> {
    await write(
      this.writer,
      sql(OWNER_SQL, key.owner, this.clock()),
      sql(
        `INSERT INTO api_keys (${KEY_COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        ...keyParams(key, secretHash),
      ),
    );
  }

  async replaceKey(key: ApiKeyRecord, secretHash: string): Promise<void> {
    await write(
      this.writer,
      sql(OWNER_SQL, key.owner, this.clock()),
      sql(
        `INSERT INTO api_keys (${KEY_COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (key_id) DO UPDATE SET owner = excluded.owner, scope = excluded.scope, name = excluded.name,
           created_at = excluded.created_at, revoked_at = excluded.revoked_at, secret_hash = excluded.secret_hash`,
        ...keyParams(key, secretHash),
      ),
    );
  }

  async findKey(keyId: string): Promise<{ key: ApiKeyRecord; secretHash: string } | null> {
    const [row] = await query<Row>(
      this.pool,
      this.writer,
      `SELECT ${KEY_COLUMNS}, secret_hash FROM api_keys WHERE key_id = $1`,
      [keyId],
    );
    return row ? { key: rowToApiKey(row), secretHash: row.secret_hash as string } : null;
  }

  async listKeys(owner?: string): Promise<ApiKeyRecord[]> {
    const where = owner === undefined ? '' : 'WHERE owner = $1';
    const params = owner === undefined ? [] : [owner];
    const text = `SELECT ${KEY_COLUMNS} FROM api_keys ${where} ORDER BY created_at, key_id`;
    return (await query<Row>(this.pool, this.writer, text, params)).map(rowToApiKey);
  }

  async revokeKey(keyId: string, at: number): Promise<boolean> {
    const text = 'UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL';
    return (await write(this.writer, sql(text, at, keyId))) > 0;
  }
}

function keyParams(key: ApiKeyRecord, secretHash: string): unknown[] {
  return [key.keyId, key.owner, key.scope, key.name, key.createdAt, key.revokedAt, secretHash];
}

const APP_FROM = 'FROM apps a JOIN revisions r ON r.revision_id = a.current_revision';

/** Apps, revisions, settings and bundle records on PostgreSQL; writes resolve once committed. */
export class PostgresAppStore implements AppStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
  ) {}

  private rows(text: string, params: unknown[] = []): Promise<Row[]> {
    return query<Row>(this.pool, this.writer, text, params);
  }

  async getApp(owner: string, name: string): Promise<App | null> {
    const [row] = await this.rows(`SELECT ${APP_COLUMNS} ${APP_FROM} WHERE a.owner = $1 AND a.name = $2`, [
      owner,
      name,
    ]);
    return row ? rowToApp(row) : null;
  }

  async listApps(owner?: string): Promise<App[]> {
    const where = owner === undefined ? '' : 'WHERE a.owner = $1';
    const rows = await this.rows(
      `SELECT ${APP_COLUMNS} ${APP_FROM} ${where} ORDER BY a.owner, a.name`,
      owner === undefined ? [] : [owner],
    );
    return rows.map(rowToApp);
  }

  async putRevision(rev: Revision): Promise<void> {
    await write(
      this.writer,
      sql(
        `INSERT INTO revisions (${REVISION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        ...revisionValues(rev),
      ),
      sql(
        `INSERT INTO apps (owner, name, current_revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (owner, name) DO UPDATE SET current_revision = excluded.current_revision,
           updated_at = excluded.updated_at`,
        rev.owner,
        rev.app,
        rev.revisionId,
        rev.createdAt,
      ),
    );
  }

  async setRevisionStatus(revisionId: string, status: Revision['status']): Promise<void> {
    await write(
      this.writer,
      sql('UPDATE revisions SET status = $1 WHERE revision_id = $2', status, revisionId),
    );
  }

  async listRevisions(owner: string, app: string): Promise<Revision[]> {
    // SQLite breaks created_at ties by insertion (rowid); here by id, which differs only for equal times.
    const rows = await this.rows(
      'SELECT * FROM revisions WHERE owner = $1 AND app = $2 ORDER BY created_at DESC, revision_id DESC',
      [owner, app],
    );
    return rows.map(rowToRevision);
  }

  async setCurrentRevision(owner: string, name: string, revisionId: string, at: number): Promise<void> {
    const text = 'UPDATE apps SET current_revision = $1, updated_at = $2 WHERE owner = $3 AND name = $4';
    await write(this.writer, sql(text, revisionId, at, owner, name));
  }

  async deleteRevision(owner: string, name: string, revisionId: string): Promise<void> {
    const text = 'DELETE FROM revisions WHERE owner = $1 AND app = $2 AND revision_id = $3';
    await write(this.writer, sql(text, owner, name, revisionId));
  }

  async deleteApp(owner: string, name: string): Promise<void> {
    await write(
      this.writer,
      sql('DELETE FROM apps WHERE owner = $1 AND name = $2', owner, name),
      sql('DELETE FROM revisions WHERE owner = $1 AND app = $2', owner, name),
      sql('DELETE FROM app_settings WHERE owner = $1 AND name = $2', owner, name),
    );
  }

  async getSettings(owner: string, name: string): Promise<AppSettings> {
    const [r] = await this.rows('SELECT scaling, rollout FROM app_settings WHERE owner = $1 AND name = $2', [
      owner,
      name,
    ]);
    return r ? settingsOf(r) : { scaling: {}, rollout: null };
  }

  async listSettings(): Promise<AppSettingsRow[]> {
    const rows = await this.rows(
      'SELECT owner, name, scaling, rollout FROM app_settings ORDER BY owner, name',
      [],
    );
    return rows.map((r) => ({ owner: r.owner as string, name: r.name as string, settings: settingsOf(r) }));
  }

  async putSettings(owner: string, name: string, settings: AppSettings): Promise<void> {
    const rollout = settings.rollout === null ? null : JSON.stringify(settings.rollout);
    const text = `INSERT INTO app_settings (owner, name, scaling, rollout) VALUES ($1, $2, $3, $4)
      ON CONFLICT (owner, name) DO UPDATE SET scaling = excluded.scaling, rollout = excluded.rollout`;
    await write(this.writer, sql(text, owner, name, JSON.stringify(settings.scaling), rollout));
  }

  async putBundle(rec: BundleRecord): Promise<void> {
    const text =
      'INSERT INTO bundles (owner, digest, bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING';
    await write(this.writer, sql(text, rec.owner, rec.digest, rec.bytes, rec.createdAt));
  }

  async getBundle(owner: string, digest: string): Promise<BundleRecord | null> {
    const [r] = await this.rows('SELECT bytes, created_at FROM bundles WHERE owner = $1 AND digest = $2', [
      owner,
      digest,
    ]);
    return r ? { owner, digest, bytes: r.bytes as number, createdAt: r.created_at as number } : null;
  }
}

/** Sealed secrets on PostgreSQL; writes resolve once committed. */
export class PostgresSecretStore implements SecretStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
  ) {}

  async putSecret(s: StoredSecret): Promise<void> {
    const text = `INSERT INTO secrets (owner, name, sealed, key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (owner, name) DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id,
        updated_at = excluded.updated_at`;
    await write(this.writer, sql(text, s.owner, s.name, s.sealed, s.keyId, s.createdAt, s.updatedAt));
  }

  async listSecrets(owner?: string): Promise<StoredSecret[]> {
    const where = owner === undefined ? '' : 'WHERE owner = $1';
    const rows = await query<Row>(
      this.pool,
      this.writer,
      `SELECT owner, name, sealed, key_id, created_at, updated_at FROM secrets ${where} ORDER BY owner, name`,
      owner === undefined ? [] : [owner],
    );
    return rows.map((r) => ({
      owner: r.owner as string,
      name: r.name as string,
      sealed: r.sealed as Buffer,
      keyId: r.key_id as string,
      createdAt: r.created_at as number,
      updatedAt: r.updated_at as number,
    }));
  }

  async deleteSecret(owner: string, name: string): Promise<boolean> {
    return (
      (await write(this.writer, sql('DELETE FROM secrets WHERE owner = $1 AND name = $2', owner, name))) > 0
    );
  }
}

/** An `app_settings` row's JSON columns. */
function settingsOf(r: Record<string, unknown>): AppSettings {
  return {
    scaling: JSON.parse(r.scaling as string),
    rollout: r.rollout === null ? null : JSON.parse(r.rollout as string),
  };
}
