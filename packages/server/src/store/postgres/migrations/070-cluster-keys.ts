/**
 * Key material every node of a cluster must share (the signing keys of upload URLs, realtime tokens and
 * webhooks): created once by whichever node needs it first, then read by all.
 */
export const sql = `
CREATE TABLE cluster_keys (
  name        TEXT PRIMARY KEY,
  value       BYTEA NOT NULL,
  created_at  BIGINT NOT NULL
);
`;
