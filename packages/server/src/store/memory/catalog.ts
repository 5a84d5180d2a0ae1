import {
  type ApiKeyRecord,
  type App,
  type AppSettings,
  type AppSettingsRow,
  type AppStore,
  type BundleRecord,
  type Clock,
  type KeyStore,
  PlatformError,
  type Revision,
} from '@hangar/core';

/** Owners and keys in process memory. */
export class MemoryKeyStore implements KeyStore {
  private readonly owners = new Map<string, number>();
  private readonly keys = new Map<string, { key: ApiKeyRecord; secretHash: string }>();

  constructor(private readonly clock: Clock) {}

  async ensureOwner(owner: string): Promise<void> {
    if (!this.owners.has(owner)) this.owners.set(owner, this.clock());
  }

  async listOwners(): Promise<string[]> {
    return [...this.owners.keys()].sort();
  }

  /** Creates the key's owner too when it is new, as the SQLite adapter does. */
  async insertKey(key: ApiKeyRecord, secretHash: string): Promise<void> {
    if (this.keys.has(key.keyId)) throw new PlatformError('STORE_WRITE_FAILED');
    await this.ensureOwner(key.owner);
    this.keys.set(key.keyId, { key: { ...key }, secretHash });
  }

  async replaceKey(key: ApiKeyRecord, secretHash: string): Promise<void> {
    await this.ensureOwner(key.owner);
    this.keys.set(key.keyId, { key: { ...key }, secretHash });
  }

  async findKey(keyId: string): Promise<{ key: ApiKeyRecord; secretHash: string } | null> {
    const found = this.keys.get(keyId);
    return found ? { key: { ...found.key }, secretHash: found.secretHash } : null;
  }

  async listKeys(owner?: string): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()]
      .map((k) => ({ ...k.key }))
      .filter((k) => owner === undefined || k.owner === owner)
      .sort((a, b) => a.createdAt - b.createdAt || (a.keyId < b.keyId ? -1 : 1));
  }

  async revokeKey(keyId: string, at: number): Promise<boolean> {
    const found = this.keys.get(keyId);
    if (!found || found.key.revokedAt !== null) return false;
    found.key.revokedAt = at;
    return true;
  }
}

/** An app as the memory stores keep it. */
export interface MemoryAppEntry {
  owner: string;
  name: string;
  currentRevision: string;
  createdAt: number;
  updatedAt: number;
}

/** What the memory reads see of the apps: by `owner/name`, revisions by id (with insertion order). */
export interface MemoryAppTables {
  apps: ReadonlyMap<string, Readonly<MemoryAppEntry>>;
  revisions: ReadonlyMap<string, { readonly rev: Readonly<Revision>; readonly seq: number }>;
  settings: ReadonlyMap<string, Readonly<AppSettings>>;
}

/** Apps and revisions in process memory. */
export class MemoryAppStore implements AppStore {
  private readonly apps = new Map<string, MemoryAppEntry>();
  /** Insertion order breaks ties between revisions created in the same millisecond. */
  private readonly revisions = new Map<string, { rev: Revision; seq: number }>();
  private readonly bundles = new Map<string, BundleRecord>();
  private readonly settings = new Map<string, AppSettings>();
  private seq = 0;

  async getApp(owner: string, name: string): Promise<App | null> {
    const a = this.apps.get(`${owner}/${name}`);
    return a ? this.toApp(a) : null;
  }

  async listApps(owner?: string): Promise<App[]> {
    return [...this.apps.values()]
      .filter((a) => owner === undefined || a.owner === owner)
      .sort((a, b) => cmp(a.owner, b.owner) || cmp(a.name, b.name))
      .map((a) => this.toApp(a));
  }

  async putRevision(rev: Revision): Promise<void> {
    if (this.revisions.has(rev.revisionId)) throw new PlatformError('STORE_WRITE_FAILED');
    this.revisions.set(rev.revisionId, { rev: structuredClone(rev), seq: this.seq++ });
    const key = `${rev.owner}/${rev.app}`;
    const existing = this.apps.get(key);
    if (existing) {
      existing.currentRevision = rev.revisionId;
      existing.updatedAt = rev.createdAt;
    } else {
      const entry = { owner: rev.owner, name: rev.app, currentRevision: rev.revisionId };
      this.apps.set(key, { ...entry, createdAt: rev.createdAt, updatedAt: rev.createdAt });
    }
  }

  async setRevisionStatus(revisionId: string, status: Revision['status']): Promise<void> {
    const found = this.revisions.get(revisionId);
    if (found) found.rev.status = status;
  }

  async listRevisions(owner: string, app: string): Promise<Revision[]> {
    return [...this.revisions.values()]
      .filter((r) => r.rev.owner === owner && r.rev.app === app)
      .sort((a, b) => b.rev.createdAt - a.rev.createdAt || b.seq - a.seq)
      .map((r) => structuredClone(r.rev));
  }

  async setCurrentRevision(owner: string, name: string, revisionId: string, at: number): Promise<void> {
    const a = this.apps.get(`${owner}/${name}`);
    if (!a) return;
    a.currentRevision = revisionId;
    a.updatedAt = at;
  }

  async deleteRevision(owner: string, name: string, revisionId: string): Promise<void> {
    const found = this.revisions.get(revisionId);
    if (found && found.rev.owner === owner && found.rev.app === name) this.revisions.delete(revisionId);
  }

  async deleteApp(owner: string, name: string): Promise<void> {
    const key = `${owner}/${name}`;
    this.apps.delete(key);
    this.settings.delete(key);
    for (const [id, { rev }] of this.revisions)
      if (rev.owner === owner && rev.app === name) this.revisions.delete(id);
  }

  async getSettings(owner: string, name: string): Promise<AppSettings> {
    const found = this.settings.get(`${owner}/${name}`);
    return found ? structuredClone(found) : { scaling: {}, rollout: null };
  }

  async listSettings(): Promise<AppSettingsRow[]> {
    return [...this.settings.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, settings]) => {
        const [owner = '', name = ''] = key.split('/');
        return { owner, name, settings: structuredClone(settings) };
      });
  }

  async putSettings(owner: string, name: string, settings: AppSettings): Promise<void> {
    this.settings.set(`${owner}/${name}`, structuredClone(settings));
  }

  async putBundle(rec: BundleRecord): Promise<void> {
    const key = `${rec.owner}/${rec.digest}`;
    if (!this.bundles.has(key)) this.bundles.set(key, { ...rec });
  }

  async getBundle(owner: string, digest: string): Promise<BundleRecord | null> {
    const rec = this.bundles.get(`${owner}/${digest}`);
    return rec ? { ...rec } : null;
  }

  /** The stored apps, revisions and settings themselves, for the memory reads (which only read them). */
  readTables(): MemoryAppTables {
    return { apps: this.apps, revisions: this.revisions, settings: this.settings };
  }

  private toApp(a: MemoryAppEntry): App {
    const rev = this.revisions.get(a.currentRevision)!.rev;
    const { owner, name, currentRevision, createdAt, updatedAt } = a;
    return {
      owner,
      name,
      currentRevision,
      createdAt,
      updatedAt,
      manifest: structuredClone(rev.manifest),
      dir: rev.dir,
    };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
