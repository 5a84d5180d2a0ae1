import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { loadOrCreateStorageSecret } from '../storage/index.js';
import type { ServerStores } from '../store/open-stores.js';
import { clusterKey } from '../store/postgres/cluster-keys.js';
import { sessionOf } from '../store/postgres/pool.js';
import { loadOrCreateWebhookKey } from '../webhook-key.js';

/** The signing keys of this server: upload URLs, realtime tokens and webhooks (its JWKS). */
export interface NodeKeys {
  uploadKey: Buffer;
  realtimeKey: Buffer;
  /** PKCS#8 PEM of the Ed25519 key that signs webhooks. */
  webhookPem: string;
}

const newWebhookPem = (): Buffer =>
  Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));

/**
 * On PostgreSQL every node reads the same keys from the `cluster_keys` table (the first node to need one
 * creates it), so an upload URL or a realtime token signed by one node verifies on any other, and webhooks
 * from every node verify with one JWKS. On SQLite the keys are files in HANGAR_HOME, as on one machine.
 */
export async function loadNodeKeys(config: Config, stores: ServerStores): Promise<NodeKeys> {
  const pg = stores.postgres;
  if (!pg) {
    return {
      uploadKey: loadOrCreateStorageSecret(join(config.storageDir, 'upload-key')),
      realtimeKey: loadOrCreateStorageSecret(join(config.home, 'realtime-key')),
      webhookPem: loadOrCreateWebhookKey(join(config.home, 'webhook-key.pem')),
    };
  }
  const db = sessionOf(pg.pool);
  const secret = () => randomBytes(32);
  return {
    uploadKey: await clusterKey(db, 'upload-key', secret),
    realtimeKey: await clusterKey(db, 'realtime-key', secret),
    webhookPem: (await clusterKey(db, 'webhook-key.pem', newWebhookPem)).toString('utf8'),
  };
}
