import { createHangarClient, type HangarClient } from '@hangar/client';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

// Session storage only: the key dies with the tab and is never written to disk by the page.
const STORAGE_KEY = 'hangar.key';

/** The key saved for this tab, if any. */
export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Remembers the key for this tab. */
export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, key);
}

/** A client of the server that served this page. */
export function clientFor(key: string): HangarClient {
  return createHangarClient({ url: window.location.origin, key, fetch: (...args) => fetch(...args) });
}

/** What every page gets: the client and a way to sign out. */
export interface Session {
  client: HangarClient;
  key: string;
  signOut: () => void;
}

/** The session context (set once signed in). */
export const SessionContext = createContext<Session | null>(null);

/** The signed-in session; only used below the sign-in gate. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside of a signed-in tree');
  return s;
}
