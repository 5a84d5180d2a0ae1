import type { SecretStore, StoredSecret } from '@hangar/core';
import { describe, expect, it } from 'vitest';

/** A secret store under test and how to release it. */
export interface SecretStoreHarness {
  secrets: SecretStore;
  close(): Promise<void>;
  /** Opens the same backing data again (the suite closes the first one before). */
  reopen?: () => Promise<SecretStoreHarness>;
}

const secret = (owner: string, name: string, at: number, byte = 1): StoredSecret => ({
  owner,
  name,
  sealed: Buffer.from([byte, 2, 3]),
  keyId: `k${byte}`,
  createdAt: at,
  updatedAt: at,
});

/** The behaviour every `SecretStore` adapter must show; a new backend is done when this passes unchanged. */
export function describeSecretStoreContract(name: string, open: () => Promise<SecretStoreHarness>): void {
  describe(`SecretStore contract: ${name}`, () => {
    it('puts, lists by owner then name, and deletes', async () => {
      const h = await open();
      try {
        const s = h.secrets;
        await s.putSecret(secret('zeta', 'B', 10));
        await s.putSecret(secret('acme', 'B', 20));
        await s.putSecret(secret('acme', 'A', 30));
        expect((await s.listSecrets()).map((x) => `${x.owner}/${x.name}`)).toEqual([
          'acme/A',
          'acme/B',
          'zeta/B',
        ]);
        expect(await s.listSecrets('acme')).toEqual([secret('acme', 'A', 30), secret('acme', 'B', 20)]);
        expect(await s.listSecrets('nobody')).toEqual([]);
        expect(await s.deleteSecret('acme', 'A')).toBe(true);
        expect(await s.deleteSecret('acme', 'A')).toBe(false);
        expect(await s.deleteSecret('acme', 'Z')).toBe(false);
        expect((await s.listSecrets('acme')).map((x) => x.name)).toEqual(['B']);
      } finally {
        await h.close();
      }
    });

    it('replaces a secret in place, keeping when it was created', async () => {
      const h = await open();
      try {
        await h.secrets.putSecret(secret('acme', 'TOKEN', 10, 1));
        await h.secrets.putSecret({ ...secret('acme', 'TOKEN', 50, 9), createdAt: 45 });
        expect(await h.secrets.listSecrets('acme')).toEqual([
          {
            owner: 'acme',
            name: 'TOKEN',
            sealed: Buffer.from([9, 2, 3]),
            keyId: 'k9',
            createdAt: 10,
            updatedAt: 50,
          },
        ]);
      } finally {
        await h.close();
      }
    });

    it('hands out copies: changing a listed secret changes nothing stored', async () => {
      const h = await open();
      try {
        await h.secrets.putSecret(secret('acme', 'TOKEN', 10));
        const [listed] = await h.secrets.listSecrets('acme');
        listed!.sealed[0] = 99;
        expect((await h.secrets.listSecrets('acme'))[0]!.sealed[0]).toBe(1);
      } finally {
        await h.close();
      }
    });

    it('keeps secrets across a reopen', async () => {
      const h = await open();
      if (!h.reopen) {
        await h.close();
        return;
      }
      await h.secrets.putSecret(secret('acme', 'TOKEN', 10));
      await h.close();
      const again = await h.reopen();
      try {
        expect(await again.secrets.listSecrets()).toEqual([secret('acme', 'TOKEN', 10)]);
      } finally {
        await again.close();
      }
    });
  });
}
