import type { SecretStore, StoredSecret } from '@hangar/core';

const copy = (s: StoredSecret): StoredSecret => ({ ...s, sealed: Buffer.from(s.sealed) });

/** Sealed secrets in process memory. */
export class MemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, StoredSecret>();

  async putSecret(s: StoredSecret): Promise<void> {
    const key = `${s.owner}\0${s.name}`;
    const old = this.secrets.get(key);
    this.secrets.set(key, copy(old ? { ...s, createdAt: old.createdAt } : s));
  }

  async listSecrets(owner?: string): Promise<StoredSecret[]> {
    return [...this.secrets.values()]
      .filter((s) => owner === undefined || s.owner === owner)
      .sort((a, b) => (a.owner === b.owner ? (a.name < b.name ? -1 : 1) : a.owner < b.owner ? -1 : 1))
      .map(copy);
  }

  async deleteSecret(owner: string, name: string): Promise<boolean> {
    return this.secrets.delete(`${owner}\0${name}`);
  }
}
