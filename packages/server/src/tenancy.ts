import { type KeyStore, PlatformError } from '@hangar/core';

/**
 * Single-tenant mode (no runner sandbox on this host): the server serves one owner. Keys of any other
 * owner are refused at authentication, and no other owner can be created, so no second tenant's code
 * ever runs beside the first one's without a sandbox between them.
 */
export function singleTenantKeys(keys: KeyStore, owner: string): KeyStore {
  const refuse = (other: string) =>
    new PlatformError(
      'OWNER_SINGLE_TENANT',
      `This server runs in single-tenant mode and serves only owner "${owner}", not "${other}"`,
    );
  return {
    ...keys,
    ensureOwner: async (name) => {
      if (name !== owner) throw refuse(name);
      return keys.ensureOwner(name);
    },
    findKey: async (keyId) => {
      const found = await keys.findKey(keyId);
      if (found && found.key.owner !== owner) throw refuse(found.key.owner);
      return found;
    },
    insertKey: async (key, hash) => {
      if (key.owner !== owner) throw refuse(key.owner);
      return keys.insertKey(key, hash);
    },
    replaceKey: async (key, hash) => {
      if (key.owner !== owner) throw refuse(key.owner);
      return keys.replaceKey(key, hash);
    },
  };
}
