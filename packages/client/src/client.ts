import { type ClientOptions, HttpTransport } from './http.js';

/** A key as the keys API lists it. */
export interface KeyInfo {
  key_id: string;
  scope: 'API' | 'ADMIN';
  name: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface DeployInput {
  path: string;
  message?: string;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface DeployResult {
  endpoint_id: string;
  revision_id: string;
  created_at: string;
  status: string;
}

/** Typed client of a Hangar server: the gateway and the Platform API. */
export function createHangarClient(opts: ClientOptions) {
  const http = new HttpTransport(opts);
  return {
    http,
    keys: {
      list: () => http.json<{ keys: KeyInfo[] }>('GET', '/v1/keys'),
      create: (scope: 'API' | 'ADMIN', name?: string) =>
        http.json<KeyInfo & { key: string }>('POST', '/v1/keys', { body: { scope, name } }),
      revoke: (keyId: string) => http.json<void>('DELETE', `/v1/keys/${encodeURIComponent(keyId)}`),
    },
    apps: {
      deploy: (input: DeployInput) => http.json<DeployResult>('POST', '/v1/serverless/apps', { body: input }),
    },
  };
}

export type HangarClient = ReturnType<typeof createHangarClient>;
