import type { HttpTransport } from '../http.js';

/** A secret as the secrets API lists it: never its value. */
export interface SecretInfo {
  name: string;
  created_at: string;
  updated_at: string;
}

/** `/v1/secrets`: the caller owner's secrets (an ADMIN key). */
export function createSecrets(http: HttpTransport) {
  const path = (name: string) => `/v1/secrets/${encodeURIComponent(name)}`;
  return {
    list: () => http.json<{ secrets: SecretInfo[] }>('GET', '/v1/secrets'),
    /** Sets (creates or replaces) a secret; runners started afterwards get it as an environment variable. */
    set: (name: string, value: string) => http.json<SecretInfo>('PUT', path(name), { body: { value } }),
    unset: (name: string) => http.json<void>('DELETE', path(name)),
  };
}
