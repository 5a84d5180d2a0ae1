/**
 * Migration 050 (nodes): the node running each runner, and its meter rows' fixed fields, so the cluster's
 * leader can end the runners of a dead node and close their metering at its last heartbeat (SQLite's
 * migration 13). NULL on rows written before.
 */
export const version = 50;

export const sql = `
ALTER TABLE runners ADD COLUMN node_id TEXT;
ALTER TABLE runners ADD COLUMN environment TEXT;
ALTER TABLE runners ADD COLUMN is_surge BOOLEAN;
CREATE INDEX runners_live_node ON runners (node_id) WHERE ended_at IS NULL;
`;

export default sql;
