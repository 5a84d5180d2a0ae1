import type { App, AppSettings, AppSettingsRow, AppStore, BundleRecord, Revision } from '@hangar/core';
import type Database from 'better-sqlite3';
import { APP_COLUMNS, REVISION_COLUMNS, revisionValues, rowToApp, rowToRevision } from './rows.js';
import type { Runnable, SqliteWriter } from './writer.js';

const APP_FROM = 'FROM apps a JOIN revisions r ON r.revision_id = a.current_revision';

/** Apps and revisions on SQLite; writes go through the writer and resolve once committed. */
export class SqliteAppStore implements AppStore {
  private readonly getStmt: Database.Statement;
  private readonly statusStmt: Database.Statement;
  private readonly revisionsStmt: Database.Statement;
  private readonly putBundleStmt: Database.Statement;
  private readonly getBundleStmt: Database.Statement;
  /** Inserts the revision and moves the app's pointer atomically (a savepoint inside the batch). */
  private readonly putRevisionRun: Runnable;
  private readonly setCurrentStmt: Database.Statement;
  private readonly deleteRevisionStmt: Database.Statement;
  private readonly deleteAppRun: Runnable;
  private readonly getSettingsStmt: Database.Statement;
  private readonly putSettingsStmt: Database.Statement;
  private readonly listSettingsStmt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.getStmt = db.prepare(`SELECT ${APP_COLUMNS} ${APP_FROM} WHERE a.owner = ? AND a.name = ?`);
    this.statusStmt = db.prepare('UPDATE revisions SET status = ? WHERE revision_id = ?');
    this.revisionsStmt = db.prepare(
      'SELECT * FROM revisions WHERE owner = ? AND app = ? ORDER BY created_at DESC, rowid DESC',
    );
    const insertRev = db.prepare(
      `INSERT INTO revisions (${REVISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.putBundleStmt = db.prepare(
      'INSERT INTO bundles (owner, digest, bytes, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.getBundleStmt = db.prepare('SELECT * FROM bundles WHERE owner = ? AND digest = ?');
    const upsertApp = db.prepare(
      `INSERT INTO apps (owner, name, current_revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (owner, name) DO UPDATE SET current_revision = excluded.current_revision,
         updated_at = excluded.updated_at`,
    );
    const tx = db.transaction((p: unknown[]) => {
      insertRev.run(p);
      upsertApp.run(p[1], p[2], p[0], p[3], p[3]);
    });
    this.putRevisionRun = {
      run: (p) => {
        tx(p);
        return { changes: 1 };
      },
    };
    this.setCurrentStmt = db.prepare(
      'UPDATE apps SET current_revision = ?, updated_at = ? WHERE owner = ? AND name = ?',
    );
    this.deleteRevisionStmt = db.prepare(
      'DELETE FROM revisions WHERE owner = ? AND app = ? AND revision_id = ?',
    );
    const deletes = [
      db.prepare('DELETE FROM apps WHERE owner = ? AND name = ?'),
      db.prepare('DELETE FROM revisions WHERE owner = ? AND app = ?'),
      db.prepare('DELETE FROM app_settings WHERE owner = ? AND name = ?'),
    ];
    const deleteTx = db.transaction((p: unknown[]) => {
      for (const stmt of deletes) stmt.run(p);
    });
    this.deleteAppRun = {
      run: (p) => {
        deleteTx(p);
        return { changes: 1 };
      },
    };
    this.getSettingsStmt = db.prepare(
      'SELECT scaling, rollout FROM app_settings WHERE owner = ? AND name = ?',
    );
    this.listSettingsStmt = db.prepare(
      'SELECT owner, name, scaling, rollout FROM app_settings ORDER BY owner, name',
    );
    this.putSettingsStmt = db.prepare(
      `INSERT INTO app_settings (owner, name, scaling, rollout) VALUES (?, ?, ?, ?)
       ON CONFLICT (owner, name) DO UPDATE SET scaling = excluded.scaling, rollout = excluded.rollout`,
    );
  }

  async setCurrentRevision(owner: string, name: string, revisionId: string, at: number): Promise<void> {
    await this.writer.enqueueAwait(this.setCurrentStmt, [revisionId, at, owner, name]);
  }

  async deleteRevision(owner: string, name: string, revisionId: string): Promise<void> {
    await this.writer.enqueueAwait(this.deleteRevisionStmt, [owner, name, revisionId]);
  }

  async deleteApp(owner: string, name: string): Promise<void> {
    await this.writer.enqueueAwait(this.deleteAppRun, [owner, name]);
  }

  async getSettings(owner: string, name: string): Promise<AppSettings> {
    this.writer.commit();
    const r = this.getSettingsStmt.get(owner, name) as
      | { scaling: string; rollout: string | null }
      | undefined;
    return r ? settingsOf(r) : { scaling: {}, rollout: null };
  }

  async listSettings(): Promise<AppSettingsRow[]> {
    this.writer.commit();
    const rows = this.listSettingsStmt.all() as Array<{ owner: string; name: string } & SettingsColumns>;
    return rows.map((r) => ({ owner: r.owner, name: r.name, settings: settingsOf(r) }));
  }

  async putSettings(owner: string, name: string, settings: AppSettings): Promise<void> {
    const rollout = settings.rollout === null ? null : JSON.stringify(settings.rollout);
    await this.writer.enqueueAwait(this.putSettingsStmt, [
      owner,
      name,
      JSON.stringify(settings.scaling),
      rollout,
    ]);
  }

  async getApp(owner: string, name: string): Promise<App | null> {
    this.writer.commit();
    const row = this.getStmt.get(owner, name) as Record<string, unknown> | undefined;
    return row ? rowToApp(row) : null;
  }

  async listApps(owner?: string): Promise<App[]> {
    this.writer.commit();
    const where = owner === undefined ? '' : 'WHERE a.owner = ?';
    const stmt = this.db.prepare(`SELECT ${APP_COLUMNS} ${APP_FROM} ${where} ORDER BY a.owner, a.name`);
    const rows = (owner === undefined ? stmt.all() : stmt.all(owner)) as Record<string, unknown>[];
    return rows.map(rowToApp);
  }

  async putRevision(rev: Revision): Promise<void> {
    await this.writer.enqueueAwait(this.putRevisionRun, revisionValues(rev));
  }

  async setRevisionStatus(revisionId: string, status: Revision['status']): Promise<void> {
    await this.writer.enqueueAwait(this.statusStmt, [status, revisionId]);
  }

  async listRevisions(owner: string, app: string): Promise<Revision[]> {
    this.writer.commit();
    return (this.revisionsStmt.all(owner, app) as Record<string, unknown>[]).map(rowToRevision);
  }

  async putBundle(rec: BundleRecord): Promise<void> {
    await this.writer.enqueueAwait(this.putBundleStmt, [rec.owner, rec.digest, rec.bytes, rec.createdAt]);
  }

  async getBundle(owner: string, digest: string): Promise<BundleRecord | null> {
    this.writer.commit();
    const r = this.getBundleStmt.get(owner, digest) as Record<string, unknown> | undefined;
    if (!r) return null;
    return { owner, digest, bytes: r.bytes as number, createdAt: r.created_at as number };
  }
}

type SettingsColumns = { scaling: string; rollout: string | null };

/** An `app_settings` row's JSON columns. */
function settingsOf(r: SettingsColumns): AppSettings {
  return { scaling: JSON.parse(r.scaling), rollout: r.rollout === null ? null : JSON.parse(r.rollout) };
}
