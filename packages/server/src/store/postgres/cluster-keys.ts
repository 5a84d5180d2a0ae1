import type { PgSession } from './session.js';

/** The signing keys a node reads from the cluster's database instead of its own home. */
export const CLUSTER_KEY_NAMES = ['upload-key', 'realtime-key', 'webhook-key.pem'] as const;
export type ClusterKeyName = (typeof CLUSTER_KEY_NAMES)[number];

/**
 * The cluster's key `name`: the stored one, or `generate()`'s value stored now. Nodes racing to create it
 * all end up with the first committed value (`ON CONFLICT DO NOTHING`, then read back).
 */
export async function clusterKey(
  db: PgSession,
  name: ClusterKeyName,
  generate: () => Buffer,
  now: number = Date.now(),
): Promise<Buffer> {
  await db.query(
    'INSERT INTO cluster_keys (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
    [name, generate(), now],
  );
  const rows = await db.query<{ value: Buffer }>('SELECT value FROM cluster_keys WHERE name = $1', [name]);
  const row = rows[0];
  if (!row) throw new Error(`cluster key ${name} vanished after it was stored`);
  return row.value;
}
