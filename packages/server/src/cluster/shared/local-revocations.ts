import type { KeyRevocations } from '@hangar/core';

/** The in-process `KeyRevocations` of one node: an announcement reaches this process's listeners at once. */
export function createLocalRevocations(): KeyRevocations {
  const listeners = new Set<(keyId: string | null) => void>();
  return {
    async announce(keyId) {
      for (const l of listeners) l(keyId);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    reliable: () => true,
    close: async () => {},
  };
}
