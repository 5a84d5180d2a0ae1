import { type ClientOptions, HttpTransport } from './http.js';
import { createAppOps } from './resources/app-ops.js';
import { createApps } from './resources/apps.js';
import { createFiles } from './resources/files.js';
import { createLogs } from './resources/logs.js';
import { createNodes } from './resources/nodes.js';
import { createQueue } from './resources/queue.js';
import { createReports } from './resources/reports.js';
import { createSecrets } from './resources/secrets.js';

/** A key as the keys API lists it. */
export interface KeyInfo {
  key_id: string;
  scope: 'API' | 'ADMIN';
  name: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** Typed client of a Hangar server: the gateway (queue and sync runs) and the Platform API. */
export function createHangarClient(opts: ClientOptions) {
  const http = new HttpTransport(opts);
  const reports = createReports(http);
  return {
    http,
    keys: {
      list: () => http.json<{ keys: KeyInfo[] }>('GET', '/v1/keys'),
      create: (scope: 'API' | 'ADMIN', name?: string) =>
        http.json<KeyInfo & { key: string }>('POST', '/v1/keys', { body: { scope, name } }),
      revoke: (keyId: string) => http.json<void>('DELETE', `/v1/keys/${encodeURIComponent(keyId)}`),
    },
    secrets: createSecrets(http),
    apps: { ...createApps(http), ...createAppOps(http) },
    files: createFiles(http),
    logs: createLogs(http),
    queue: createQueue(http),
    requests: reports.requests,
    usage: reports.usage,
    analytics: reports.analytics,
    metrics: reports.metrics,
    nodes: createNodes(http),
  };
}

/** The client `createHangarClient` returns. */
export type HangarClient = ReturnType<typeof createHangarClient>;
